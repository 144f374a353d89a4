"""`evalclient datasets fetch`: each dataset's pinned hub files into the datasets cache, verified and locked.

For each dataset: the files of its evaluated split and of its few-shot split are downloaded by name (never a
loading script), their rows read and checked against the task's declaration (the row count its source
declares, the fields the task reads, one row per id), and the files' SHA-256 written to the dataset lock
(tasks/lock.py), so that every later run reads what was checked here or stops. One dataset's failure is its
own: the others are fetched, and the caller reports which failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from evalclient.errors import DatasetError, EvalClientError
from evalclient.tasks.base import TaskSpec
from evalclient.tasks.hub import HubStore
from evalclient.tasks.loading import load_hub_rows, select_samples, validate_rows
from evalclient.tasks.registry import get_task


@dataclass(frozen=True)
class Fetched:
    """One dataset fetched (`error` None) or not."""

    name: str
    rows: int = 0
    size_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def line(self) -> str:
        if self.error is not None:
            return f"✗ {self.name}: {self.error.removeprefix(self.name + ': ')}"
        return f"✓ {self.name}: {self.rows:,} rows, {_size(self.size_bytes)}, {self.seconds:.1f} s"


def fetch_dataset(name: str, cache_dir: Path) -> Fetched:
    """Fetch, verify and lock one dataset's hub files (its evaluated split and its few-shot split)."""
    started = time.monotonic()
    try:
        task = get_task(name)
        store = HubStore.of(cache_dir)
        rows = _verified_rows(task, task.source.split, store)
        select_samples(task, rows, None, 0)  # every row's id once, or DatasetError naming the repeated one
        if task.fewshot is not None:
            _verified_rows(task, task.fewshot.split, store)
    except EvalClientError as exc:
        return Fetched(name, error=str(exc))
    size = sum(path.stat().st_size for path in store.served)
    return Fetched(name, len(rows), size, time.monotonic() - started)


def _verified_rows(task: TaskSpec, split: str, store: HubStore) -> list[dict[str, object]]:
    """The split's rows from the hub, their count and fields checked; DatasetError otherwise."""
    source = task.for_split(split)
    if source.hub_rows is None and not source.source.files_of(split):
        raise DatasetError(f"{task.name} declares no hub files for its {split} split")
    rows = load_hub_rows(source, store=store)
    validate_rows(source, rows, f"{task.source.path}:{split}@{task.source.revision[:12]}")
    return task.prepare_rows(rows) if task.prepare_rows is not None and split == task.source.split else rows


def _size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
