"""The dataset lock: what the hub served for each pinned dataset, so that a change is never read silently.

`<datasets cache>/datasets.lock.json` holds, per hub repository and declared revision, the commit it resolved
to and, per file read, its SHA-256, its size and the hub's ETag for it (for a file kept in Git LFS the ETag
is its SHA-256; for any other file, git's blob hash). `evalclient datasets fetch` writes it after checking
the rows; a load on a machine without an entry writes the entry the first time (the cache is then locked to
what it first saw). Every later read of a file compares the file's SHA-256 with the lock, and, when the hub
can be asked, the hub's ETag with the lock's: a difference stops the run with the dataset, the file and both
values. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalclient.errors import DatasetError
from evalclient.results.atomic import atomic_write_bytes

LOCK_FILE = "datasets.lock.json"
VERSION = 1
REFETCH_HINT = (
    "the hub or the dataset cache no longer holds what `evalclient datasets fetch` locked: restore the "
    "cache, or delete {lock} (or its entry) and run `evalclient datasets fetch` again to accept the new files"
)


@dataclass(frozen=True)
class LockedFile:
    sha256: str
    size: int
    etag: str | None = None


@dataclass
class DatasetLock:
    """The lock file of one datasets cache; thread-safe (deployments load their datasets in threads)."""

    path: Path
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, cache_dir: Path) -> DatasetLock:
        """The lock of `cache_dir` (empty when it has none yet); DatasetError when it cannot be read."""
        path = cache_dir / LOCK_FILE
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(
                f"the dataset lock {path} cannot be read ({exc})",
                "delete it and run `evalclient datasets fetch`",
            ) from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise DatasetError(
                f"the dataset lock {path} is not a version-{VERSION} lock",
                "delete it and run `evalclient datasets fetch`",
            )
        return cls(path, dict(data.get("repositories") or {}))

    def commit(self, repo: str, revision: str) -> str | None:
        """The commit `revision` of `repo` was locked to, None when it has no entry."""
        with self._guard:
            entry = self.entries.get(_key(repo, revision))
        return None if entry is None else str(entry["commit"])

    def lock_commit(self, repo: str, revision: str, commit: str) -> None:
        with self._guard:
            self._reload()
            entry = self.entries.setdefault(_key(repo, revision), {"commit": commit, "files": {}})
            entry["commit"] = commit
            self._save()

    def file(self, repo: str, revision: str, filename: str) -> LockedFile | None:
        with self._guard:
            found = (self.entries.get(_key(repo, revision)) or {}).get("files", {}).get(filename)
        return None if found is None else LockedFile(found["sha256"], found["size"], found.get("etag"))

    def lock_file(self, repo: str, revision: str, commit: str, filename: str, locked: LockedFile) -> None:
        with self._guard:
            self._reload()
            entry = self.entries.setdefault(_key(repo, revision), {"commit": commit, "files": {}})
            entry["files"][filename] = {
                "sha256": locked.sha256,
                "size": locked.size,
                "etag": locked.etag,
                "locked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self._save()

    def verify(self, dataset: str, repo: str, revision: str, filename: str, local: Path) -> LockedFile:
        """The file's SHA-256 and size, checked against the lock's; DatasetError naming both hashes when they
        differ."""
        found = LockedFile(file_sha256(local), local.stat().st_size)
        locked = self.file(repo, revision, filename)
        if locked is not None and locked.sha256 != found.sha256:
            raise DatasetError(
                f"{dataset}: {filename} of {repo}@{revision[:12]} has SHA-256 {found.sha256}; the dataset "
                f"lock has {locked.sha256}",
                REFETCH_HINT.format(lock=self.path),
            )
        return found

    def _reload(self) -> None:
        """Take in what other processes locked since this lock was read (a sweep's deployments, or another
        run on the same cache), so that a write adds to the file instead of replacing it."""
        on_disk = DatasetLock.open(self.path.parent).entries if self.path.exists() else {}
        for key, entry in on_disk.items():
            mine = self.entries.setdefault(key, entry)
            if mine is not entry:
                mine["files"] = {**entry.get("files", {}), **mine.get("files", {})}

    def _save(self) -> None:
        body = {"version": VERSION, "repositories": self.entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hex); DatasetError when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise DatasetError(f"cannot read data file {path}: {exc.strerror or exc}", "check the path") from exc
    return digest.hexdigest()


def _key(repo: str, revision: str) -> str:
    return f"{repo}@{revision}"
