"""The fingerprint that says whether stored results belong to the same model, preset, image and samples."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any


def combination_fingerprint(
    *,
    model_id: str,
    model_revision: str,
    launch_args: Sequence[str],
    image: str,
    image_id: str | None,
    dataset_revision: str,
    sample_ids: Sequence[str],
    task_parameters: dict[str, Any] | None = None,
) -> str:
    """sha256 over everything DESIGN §4 names, and what the task sends (mode, shots, sampling), since other
    requests are other answers; the port is left out (it changes between runs)."""
    payload: dict[str, Any] = {
        "task": task_parameters or {},
        "model": [model_id, model_revision],
        "flags": _without_port(list(launch_args)),
        "image": [image, image_id],
        "dataset": dataset_revision,
        "samples": list(sample_ids),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _without_port(args: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--port":
            skip = True
            continue
        out.append(arg)
    return out
