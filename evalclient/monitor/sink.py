"""`SampleFileWriter`: monitor samples appended to metrics/performance/<model>_<preset>.csv as they come.

A daemon thread takes every `flush_interval_s` what the GPU, /metrics and container logs gained, holding
back the last `holdback_s` seconds so rows from the three sources land in time order (each sampler appends
a sample within milliseconds of its time), writes them and flushes them to the disk: a crashed suite loses
the last three quarters of a second of samples at most. Runs append
to the file, told apart by the `run_id` column; a file written with other columns (an older evalclient)
is moved aside to `<name>.csv.old` first. Nothing here runs on the event loop.
"""

from __future__ import annotations

import csv
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from evalclient.monitor.rows import ROW_COLUMNS, Sample, Window, samples_to_rows
from evalclient.monitor.samplelog import SampleLog

log = logging.getLogger(__name__)


class SampleFileWriter:
    """Streams the samples of some logs into one CSV file until `close`."""

    def __init__(
        self,
        path: Path,
        logs: Sequence[SampleLog[Any]],
        windows: Callable[[], Sequence[Window]],
        clock_anchor: tuple[float, float],
        *,
        run_id: str | None = None,
        flush_interval_s: float = 0.5,
        holdback_s: float = 0.25,
    ) -> None:
        self.path = path
        self.logs = list(logs)
        self.windows = windows
        self.clock_anchor = clock_anchor
        self.run_id = run_id
        self.flush_interval_s = flush_interval_s
        self.holdback_s = holdback_s
        self.rows_written = 0
        self.written_until = float("-inf")
        """Every sample with t <= this is on disk (for releasing memory)."""
        self.error: str | None = None
        self._positions = [0] * len(self.logs)
        self._stop = threading.Event()
        self._file: TextIO | None = None
        self._writer: Any = None
        self._thread: threading.Thread | None = None

    @property
    def positions(self) -> list[int]:
        """Per log, the absolute position up to which its samples are written."""
        return list(self._positions)

    def start(self) -> None:
        """Open the file (header first when it is new) and start the writing thread; raises OSError."""
        if self._thread is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._move_aside_if_foreign()
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("a", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        if fresh:
            self._writer.writerow(ROW_COLUMNS)
            self._sync()
        self._thread = threading.Thread(target=self._run, name="evalclient-samples-writer", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _move_aside_if_foreign(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open(encoding="utf-8", newline="") as existing:
            header = next(csv.reader(existing), [])
        if tuple(header) != ROW_COLUMNS:
            aside = self.path.with_name(self.path.name + ".old")
            os.replace(self.path, aside)
            log.warning("%s had other columns; moved to %s", self.path, aside.name)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.flush_interval_s):
                self._flush(time.monotonic() - self.holdback_s)
            self._flush(None)
        except Exception as err:  # never fatal: the evaluation goes on without its samples file
            self.error = f"{type(err).__name__}: {err}"
            log.exception("writing %s failed; the monitor's samples stay in memory only", self.path)
        finally:
            if self._file is not None:
                self._file.close()

    def _flush(self, until_t: float | None) -> None:
        batch: list[Sample] = []
        for i, source in enumerate(self.logs):
            items, self._positions[i] = source.since(self._positions[i], until_t)
            batch.extend(items)
        if batch:
            rows = samples_to_rows(batch, self.windows(), self.clock_anchor, self.run_id)
            self._writer.writerows([[_cell(row[c]) for c in ROW_COLUMNS] for row in rows])
            self._sync()
            self.rows_written += len(rows)
        self.written_until = float("inf") if until_t is None else until_t

    def _sync(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())


def _cell(value: Any) -> Any:
    return "" if value is None else value
