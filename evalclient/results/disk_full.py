"""A full disk, told once: find the ENOSPC behind a failure, say where and how much is free, keep quiet after.

Once the disk under the results is full every write fails, so one failure would become hundreds of lines
(each log record, each record write, an exception group). The run stops at the first, says in one line which
folder is full and how much space is left there, closes its manifest as failed (in place when no new file
fits) and exits 1; everything written before stands and a rerun resumes.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from evalclient.errors import DiskFullError

FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def full_disk_cause(exc: BaseException | None) -> OSError | None:
    """The 'no space left' OSError behind `exc` (itself, its cause or context, or in its group); None."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL:
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend((current.__cause__, current.__context__))
    return None


def disk_full_error(folder: Path, cause: OSError) -> DiskFullError:
    """One line: the folder, its free space, the file that did not fit."""
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:.1f} MiB free"
    except OSError:
        free = "free space unknown"
    where = f" (writing {cause.filename})" if cause.filename else ""
    return DiskFullError(
        f"no space left on the disk of {folder}: {free}{where}; the run stopped",
        "free space there (or pass --output on another disk) and run the same command again: it resumes "
        "where it stopped",
    )


def write_in_place(path: Path, data: bytes) -> None:
    """Overwrite `path` without a new file (no new blocks for a file no larger than before): the last way to
    close a manifest on a full disk."""
    with path.open("r+b") as handle:
        handle.write(data)
        handle.truncate()
