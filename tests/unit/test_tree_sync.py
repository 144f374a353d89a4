"""A node's scratch tree mirrored into the driver's: appends, atomic replacements, hard links, deletions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evalclient.cluster.tree_sync import FileOp, TreeMirror, apply_ops, collect
from evalclient.results import ResultsOrganizer
from evalclient.results.atomic import atomic_write_text
from evalclient.results.checkpoint import Checkpoint


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_seeded_files_are_the_baseline_and_growth_is_sent_as_the_appended_bytes(tmp_path: Path) -> None:
    node = TreeMirror(tmp_path / "node")
    node.seed({"cache/checkpoints/a.jsonl": b'{"fingerprint": "f"}\n'})
    assert node.changes() == []
    with (tmp_path / "node/cache/checkpoints/a.jsonl").open("ab") as handle:
        handle.write(b'{"id": "1"}\n')
    assert node.changes() == [FileOp("append", "cache/checkpoints/a.jsonl", b'{"id": "1"}\n', 21)]
    assert node.changes() == []


def test_an_atomic_rewrite_is_sent_whole_and_a_removed_file_is_deleted(tmp_path: Path) -> None:
    root = tmp_path / "node"
    node = TreeMirror(root)
    node.seed({"metrics/detailed/m.json": b'{"status": "partial"}\n', "x.txt": b"x"})
    atomic_write_text(root / "metrics/detailed/m.json", '{"status": "complete"}\n')
    (root / "x.txt").unlink()
    assert node.changes() == [
        FileOp("replace", "metrics/detailed/m.json", b'{"status": "complete"}\n'),
        FileOp("delete", "x.txt"),
    ]


def test_the_driver_tree_ends_byte_for_byte_like_the_node_tree_with_hard_links_kept(tmp_path: Path) -> None:
    driver_root, node_root = tmp_path / "driver", tmp_path / "node"
    driver = ResultsOrganizer(driver_root)
    checkpoint = driver.checkpoint_path("m", "p", "gsm8k")
    checkpoint.write_text('{"fingerprint": "f"}\n{"id": "0"}\n')
    node = TreeMirror(node_root)
    node.seed(collect(driver_root, [checkpoint, driver.detailed_metrics_path("m", "p", "gsm8k")]))
    scratch = ResultsOrganizer(node_root)
    rows = Checkpoint(scratch.checkpoint_path("m", "p", "gsm8k"), "f")
    assert rows.load() == [{"id": "0"}]
    rows.append({"id": "1", "text": "  indented\n\n"})
    first = node.changes()
    views = scratch.save_predictions("m", "p", "gsm8k", [{"id": "1"}], "20261127_000000")
    rows.append({"id": "2"})
    rows.close()
    second = node.changes()
    assert [op.kind for op in second].count("link") == 2
    for batch in (first, second, second):  # a batch applied twice changes nothing
        apply_ops(driver_root, batch)
    assert _tree(driver_root) == _tree(node_root)
    linked = [driver_root / v.relative_to(node_root) for v in views]
    assert {os.stat(p).st_ino for p in linked} == {os.stat(linked[0]).st_ino}


def test_a_path_that_leaves_the_tree_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the results tree"):
        apply_ops(tmp_path, [FileOp("replace", "../escape.txt", b"x")])
    assert not (tmp_path.parent / "escape.txt").exists()
