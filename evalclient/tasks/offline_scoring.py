"""`evalclient score`: score stored answers offline against the dataset's rows (DESIGN §3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalclient.errors import DatasetError, UsageError
from evalclient.tasks.base import ScoreResult
from evalclient.tasks.manager import DatasetManager
from evalclient.tasks.registry import get_task


def read_predictions(path: Path) -> dict[str, str]:
    """`{"id": ..., "response": ...}` per line → {id: response}; errors name the file and line."""
    answers: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = _parse_line(path, number, line)
        if "id" not in row:
            raise DatasetError(
                f"{path}: line {number} has no 'id'", 'each line is {"id": ..., "response": "..."}'
            )
        response = row.get("response")
        if response is not None and not isinstance(response, str):
            raise DatasetError(f"{path}: line {number}: 'response' must be a string")
        if response is not None:
            answers[str(row["id"])] = response
    return answers


def _parse_line(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: line {number} is not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DatasetError(f"{path}: line {number} is not a JSON object")
    return row


def score_predictions(
    dataset: str, predictions: Path, data_file: Path | None, cache_dir: Path | None = None
) -> ScoreResult:
    """Score every prediction whose id is a sample of the dataset; unknown ids are an error."""
    task = get_task(dataset)
    answers = read_predictions(predictions)
    manager = DatasetManager(None, cache_dir, data_files={task.name: data_file} if data_file else None)
    rows = manager.rows(task.name)
    samples = [s for s in manager.get_evaluation_samples(task.name, len(rows)) if s.id in answers]
    unknown = sorted(set(answers) - {s.id for s in samples})
    if unknown:
        raise DatasetError(
            f"{predictions}: {len(unknown)} id(s) are not in {task.name}, e.g. {', '.join(unknown[:3])}",
            "ids are the dataset's own id field, else the 0-based row index",
        )
    return task.score(samples, answers)
