"""Per-combination checkpoints: every sample's outcome appended as it arrives, so no answer is lost.

`cache/checkpoints/<model>_<preset>_<dataset>.jsonl` starts with a header line holding the combination's
fingerprint, then one JSON object per finished sample, written and flushed at once (a killed suite loses at
most the line being written; a torn last line is ignored). A rerun with the same fingerprint reuses the
answered samples and asks only the rest; a different fingerprint discards the file.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("evalclient.results")


class Checkpoint:
    """The checkpoint file of one combination under one fingerprint."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self._handle: IO[str] | None = None

    def load(self) -> list[dict[str, Any]]:
        """The rows stored under this fingerprint (a file of another fingerprint is discarded)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        header = _parse(lines[0]) if lines else None
        if header is None or header.get("fingerprint") != self.fingerprint:
            log.info("%s belongs to another fingerprint; its answers are not reused", self.path.name)
            self.discard()
            return []
        rows = [row for row in (_parse(line) for line in lines[1:]) if row is not None]
        if len(rows) < len(lines) - 1:
            log.warning("%s: %d unreadable line(s) skipped", self.path.name, len(lines) - 1 - len(rows))
        return rows

    def append(self, row: dict[str, Any]) -> None:
        """Write one row and flush it to the operating system."""
        if self._handle is None:
            self._handle = self._open()
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def _open(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        handle = self.path.open("a", encoding="utf-8")
        if fresh:
            handle.write(json.dumps({"fingerprint": self.fingerprint}) + "\n")
        elif not _ends_with_newline(self.path):
            handle.write("\n")  # a torn last line from a crash stays on its own, unreadable line
        return handle


def _parse(line: str) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
