"""Shared fixtures: paths to the shipped presets and the demo data files, the stand-in NVML library."""

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


@pytest.fixture(scope="session")
def standin_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the stand-in libnvidia-ml.so.1, compiled once per session (tests/nvml_standin)."""
    from nvml_standin import CompilerMissing, build_library

    try:
        return build_library(tmp_path_factory.mktemp("nvml_standin"))
    except CompilerMissing as exc:
        pytest.skip(f"the NVML stand-in needs a C compiler: {exc}")
