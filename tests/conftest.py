"""Shared fixtures: paths to the shipped presets and the demo data files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No test reaches a dataset or model hub: fail at once instead of waiting on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def presets_dir() -> Path:
    return ROOT / "presets"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return ROOT / "tests" / "fixtures"
