"""A node's scratch results tree mirrored into the driver's, one batch of file operations at a time.

A deployment on a cluster node writes its files (checkpoints, predictions, metrics, samples, logs) into a
scratch tree laid out like the results tree. `TreeMirror` scans it and turns what changed since the last scan
into `FileOp`s: the bytes appended to a file that only grew (checkpoints, logs), the whole file when it was
replaced (every atomic write), a link where files share an inode (the predictions' three views), a deletion.
The driver applies them with `apply_ops`, appends at their offset, so a batch applied twice changes nothing.
The files the driver seeds the scratch tree with (`collect`) are the baseline: they are not sent back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evalclient.results.atomic import atomic_write_bytes


@dataclass(frozen=True)
class FileOp:
    """One change to a file of the results tree, by its path relative to the tree's root."""

    kind: str  # append | replace | link | delete
    path: str
    data: bytes = b""
    offset: int = 0
    target: str = ""
    """For a link: the path (already sent) whose file this one shares."""


@dataclass(frozen=True)
class _Seen:
    inode: tuple[int, int]
    size: int
    mtime_ns: int


class TreeMirror:
    """Scans a scratch tree and reports what changed since the previous scan."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[str, _Seen] = {}

    def seed(self, files: dict[str, bytes]) -> None:
        """Write the driver's files into the tree; they are the baseline, not changes."""
        for relative, data in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.changes()

    def changes(self) -> list[FileOp]:
        """The operations that bring the driver's copy to this tree's state (blocking file reads)."""
        ops: list[FileOp] = []
        current: dict[str, _Seen] = {}
        sent_inodes: dict[tuple[int, int], str] = {}
        for path in sorted(self._files()):
            relative = path.relative_to(self.root).as_posix()
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            seen = _Seen((stat.st_dev, stat.st_ino), stat.st_size, stat.st_mtime_ns)
            current[relative] = seen
            before = self._seen.get(relative)
            if before == seen:
                sent_inodes.setdefault(seen.inode, relative)
                continue
            if seen.inode in sent_inodes and stat.st_nlink > 1:
                ops.append(FileOp("link", relative, target=sent_inodes[seen.inode]))
                continue
            op = _read_change(path, relative, before, seen)
            if op is None:
                current.pop(relative)
                continue
            ops.append(op)
            sent_inodes.setdefault(seen.inode, relative)
        ops += [FileOp("delete", relative) for relative in self._seen if relative not in current]
        self._seen = current
        return ops

    def _files(self) -> list[Path]:
        return [
            path
            for path in self.root.rglob("*")
            if path.is_file() and not (path.name.startswith(".") and path.name.endswith(".tmp"))
        ]


def _read_change(path: Path, relative: str, before: _Seen | None, now: _Seen) -> FileOp | None:
    """The bytes appended when the same file grew, else the whole file; None when it vanished meanwhile."""
    grew = before is not None and before.inode == now.inode and now.size >= before.size
    try:
        with path.open("rb") as handle:
            if grew and before is not None:
                handle.seek(before.size)
                return FileOp("append", relative, handle.read(now.size - before.size), before.size)
            return FileOp("replace", relative, handle.read(now.size))
    except FileNotFoundError:
        return None


def collect(root: Path, paths: list[Path]) -> dict[str, bytes]:
    """The files of the driver's tree a deployment reads (its checkpoints and records), by relative path."""
    files: dict[str, bytes] = {}
    for path in paths:
        if path.is_file():
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def apply_ops(root: Path, ops: list[FileOp]) -> None:
    """Apply a node's changes to the driver's tree: appends at their offset, replacements atomic."""
    for op in ops:
        path = _inside(root, op.path)
        if op.kind == "append":
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("r+b" if path.exists() else "wb") as handle:
                handle.seek(op.offset)
                handle.write(op.data)
                handle.truncate()
        elif op.kind == "replace":
            atomic_write_bytes(path, op.data)
        elif op.kind == "link":
            _link(_inside(root, op.target), path)
        elif op.kind == "delete":
            path.unlink(missing_ok=True)
        else:
            raise ValueError(f"unknown file operation {op.kind!r}")


def _inside(root: Path, relative: str) -> Path:
    """`relative` under `root`; a path that would leave the tree is refused."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"{relative!r} is outside the results tree")
    return root / relative


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        target.write_bytes(source.read_bytes())
