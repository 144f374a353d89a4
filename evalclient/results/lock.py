"""One run per results folder: an exclusive lock on `<output>/.evalclient.lock` for the run's lifetime.

The lock is the operating system's (flock), so it goes with the process however it ends; the file names
the run holding it, for the message a second run gets, and is emptied when the run ends (a file still
naming a process that is gone is a run that was killed). Within one process the lock is re-entrant (the CLI
takes it before it prints anything, the runner again for its run).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from evalclient.errors import RunInProgressError


class RunLock:
    """`with RunLock(output, run_id):` or RunInProgressError naming the run that holds the folder."""

    _held: ClassVar[dict[Path, list[int]]] = {}
    """Locks this process holds: path -> [fd, depth]."""

    def __init__(self, folder: Path, run_id: str) -> None:
        self.path = (folder / ".evalclient.lock").resolve()
        self.run_id = run_id

    def __enter__(self) -> RunLock:
        held = self._held.get(self.path)
        if held is not None:
            held[1] += 1
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 4096).decode("utf-8", errors="replace")
            os.close(fd)
            raise RunInProgressError(
                f"another evalclient run is writing to {self.path.parent} ({_describe(holder)})",
                "wait for it to finish, or pass --output with another folder",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"run_id": self.run_id, "pid": os.getpid()}).encode())
        self._held[self.path] = [fd, 1]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        held = self._held.get(self.path)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del self._held[self.path]
            with contextlib.suppress(OSError):
                os.ftruncate(held[0], 0)  # the run is over: the file names no holder
            os.close(held[0])


def _describe(holder: str) -> str:
    try:
        data = json.loads(holder)
    except json.JSONDecodeError:
        return "run unknown"
    return f"run {data.get('run_id')}, pid {data.get('pid')}"
