"""Run logging: the run's log files in logs/{model_evaluation,performance_monitoring,dataset_processing}/.

A log file that cannot be written (a full disk) goes quiet instead of printing a traceback per record: the
run reports the full disk once (results/disk_full.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# logger name prefix → logs/ subfolder
ROUTES = {
    "evalclient.monitor": "performance_monitoring",
    "evalclient.tasks": "dataset_processing",
    "evalclient.dataset": "dataset_processing",
}


class _Route(logging.Filter):
    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def filter(self, record: logging.LogRecord) -> bool:
        folder = next((f for p, f in ROUTES.items() if record.name.startswith(p)), "model_evaluation")
        return folder == self.folder


class RunFileHandler(logging.FileHandler):
    """A run's log file; once a write fails for lack of space it drops further records silently."""

    quiet = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.quiet:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        from evalclient.results.disk_full import full_disk_cause

        if full_disk_cause(sys.exc_info()[1]) is not None:
            self.quiet = True
            return
        super().handleError(record)


def quiet_file_logging() -> None:
    """Stop writing the run's log files (their disk is full)."""
    for handler in logging.getLogger("evalclient").handlers:
        if isinstance(handler, RunFileHandler):
            handler.quiet = True


@contextmanager
def run_logging(logs_dir: Path, run_id: str) -> Iterator[None]:
    """Send evalclient's log records to the three log folders for the duration of a run."""
    root = logging.getLogger("evalclient")
    handlers: list[RunFileHandler] = []
    for folder in ("model_evaluation", "performance_monitoring", "dataset_processing"):
        path = logs_dir / folder / f"run_{run_id}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RunFileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(_Route(folder))
        handlers.append(handler)
        root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(previous)
