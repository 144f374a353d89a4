"""Datasets as the hub serves them, through the real `huggingface_hub` against a stand-in hub laid out as the
real repositories (tests/hub_standin): every default dataset fetched, verified and locked; only the split's
files downloaded, never a loading script; a file that changes after the fetch stops the next read naming
both hashes; the cache alone serves once offline; a branch is locked to its commit on first fetch."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from evalclient.config import load_config
from evalclient.errors import DatasetError
from evalclient.judge.data import fetch_judge_files
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.fetch import fetch_dataset
from evalclient.tasks.lock import LOCK_FILE

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
DEFAULT = list(CONFIG.sweep.datasets)


def _lock(cache: Path) -> dict[str, Any]:
    return dict(json.loads((cache / LOCK_FILE).read_text())["repositories"])


def test_every_default_dataset_is_fetched_verified_and_locked(hub: Any, tmp_path: Path) -> None:
    fetched = {name: fetch_dataset(name, tmp_path) for name in DEFAULT}
    assert {name: f.error for name, f in fetched.items()} == dict.fromkeys(DEFAULT)
    declared = {name: get_task(name).source.rows_of() for name in DEFAULT}
    assert {n: f.rows for n, f in fetched.items()} == {
        **declared,
        "toolllama": 12,
    }  # toolbench: none declared
    assert fetched["humaneval"].line.startswith("✓ humaneval: 164 rows, ")
    lock = _lock(tmp_path)
    served = {(repo, path): content for repo, r in hub.repos.items() for c in r.commits.values()
              for path, content in c.items()}  # fmt: skip
    for key, entry in lock.items():
        repo = key.split("@")[0]
        for path, locked in entry["files"].items():
            assert locked["sha256"] == hashlib.sha256(served[(repo, path)]).hexdigest()
            assert locked["etag"]  # what the hub said of it
    assert lock["tuandunghcmut/toolbench-v1@main"]["commit"] == "5" * 40  # the branch, locked to its commit
    downloaded = hub.downloaded()
    assert not [p for p in downloaded if p.endswith(".py")]  # alpaca_eval.py is beside the data, never read
    unread = ("/train-", "auxiliary_train", "_live_")  # splits evalclient does not read (mt_bench's is train)
    assert not [p for p in downloaded if any(u in p for u in unread) and "mt_bench_prompts" not in p]
    assert any(p.endswith("/alpaca_eval_gpt4_baseline.json") for p in downloaded)


def test_the_judge_data_is_fetched_through_the_hub_and_the_raw_mirror(hub: Any, tmp_path: Path) -> None:
    assert fetch_judge_files("mt_bench", tmp_path) == tmp_path / "mt_bench.reference_answer.jsonl"
    gamed = fetch_judge_files("alpaca_eval", tmp_path)
    assert gamed == tmp_path / "alpaca_eval.df_gamed.csv"
    assert (
        gamed.read_bytes()
        == hub.repos["tatsu-lab/alpaca_eval"].commits[get_task("alpaca_eval").source.revision]["df_gamed.csv"]
    )
    assert [p for p in hub.downloaded() if p.startswith("/raw/")] == [
        "/raw/lm-sys/FastChat/b494d0c6b4e7935f1764f8439e75da3e66beccc7/fastchat/llm_judge/data/mt_bench/"
        "reference_answer/gpt-4.jsonl"
    ]


def test_a_file_changed_on_the_hub_after_the_fetch_stops_the_next_read(hub: Any, tmp_path: Path) -> None:
    assert fetch_dataset("gsm8k", tmp_path).error is None
    source = get_task("gsm8k").source
    [path] = source.files_of()
    locked = _lock(tmp_path)[f"openai/gsm8k@{source.revision}"]["files"][path]
    changed = hub.repos["openai/gsm8k"].commits[source.revision][path] + b"\n"
    hub.replace_file("openai/gsm8k", source.revision, path, changed)
    with pytest.raises(DatasetError) as caught:
        DatasetManager(None, tmp_path).rows("gsm8k")
    message = str(caught.value)
    found = hashlib.sha256(changed).hexdigest()
    assert message.startswith(
        f"gsm8k: the hub now serves {path} of openai/gsm8k@{source.revision[:12]} with ETag {found}; the "
        f"dataset lock has {locked['etag']}"
    )
    assert "\n" not in message
    assert "datasets fetch" in message


def test_a_cached_file_that_changed_stops_the_read_naming_both_hashes(hub: Any, tmp_path: Path) -> None:
    assert fetch_dataset("arc_challenge", tmp_path).error is None
    [cached] = [p for p in tmp_path.rglob("test-00000-of-00001.parquet") if "snapshots" in str(p)]
    original = cached.read_bytes()
    cached.unlink()  # the cache's file is a link into its blobs: write a copy in its place
    cached.write_bytes(original[:-8] + b"tampered")
    with pytest.raises(DatasetError, match=r"arc_challenge: ARC-Challenge/test-00000-of-00001.parquet of "
                       r"allenai/ai2_arc@210d026faf99 has SHA-256 [0-9a-f]{64}; the dataset lock has "
                       + hashlib.sha256(original).hexdigest()):  # fmt: skip
        DatasetManager(None, tmp_path).rows("arc_challenge")


def test_the_cache_alone_serves_offline_and_when_the_hub_is_gone(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("mmlu", "bfcl"):
        assert fetch_dataset(name, tmp_path).error is None
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: the hub is gone
    gone = DatasetManager(None, tmp_path)
    assert len(gone.get_evaluation_samples("mmlu", 5)) == 5  # with its few-shot dev rows
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(hub.requests)
    offline = DatasetManager(None, tmp_path)
    assert len(offline.rows("bfcl")) == 1390
    assert len(hub.requests) == before
    with pytest.raises(DatasetError) as never_fetched:
        offline.rows("gsm8k")
    assert str(never_fetched.value) == (
        "gsm8k: main/test-00000-of-00001.parquet of openai/gsm8k@cc7b047b6e5b is not in "
        f"{tmp_path} and the hub may not be asked (HF_HUB_OFFLINE); pass --data-dir/--data-file with "
        "rows in the hub schema, or run `evalclient datasets fetch` on a connected machine to fill the cache"
    )


def test_a_branch_stays_on_the_commit_it_was_locked_to(hub: Any, tmp_path: Path) -> None:
    assert fetch_dataset("toolllama", tmp_path).rows == 12
    repo = hub.repos["tuandunghcmut/toolbench-v1"]
    moved = {**repo.commits["5" * 40]}
    moved["data/validation-00000-of-00001.parquet"] = hub.repos["openai/gsm8k"].commits[
        get_task("gsm8k").source.revision
    ]["main/test-00000-of-00001.parquet"]
    hub.put("tuandunghcmut/toolbench-v1", "6" * 40, moved)
    manager = DatasetManager(None, tmp_path)
    assert len(manager.rows("toolllama")) == 12  # still the locked commit's rows
    assert manager.dataset_fingerprint("toolllama") == (
        f"hub:tuandunghcmut/toolbench-v1/default:validation@main (commit {'5' * 40})"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("short", "✗ humaneval: openai/openai_humaneval:test@7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544 "
                  "holds 163 rows; its source declares 164"),
        ("duplicate", "✗ humaneval: sample id 'HumanEval/0' appears more than once"),
        ("missing", "✗ humaneval: the hub has no openai_humaneval/test-00000-of-00001.parquet of "
                    "openai/openai_humaneval@7dce6050a7d6 (no such file); the repository "
                    "changed on the hub"),
    ],
)  # fmt: skip
def test_a_dataset_that_is_not_what_its_declaration_says_fails_its_fetch(
    hub: Any, tmp_path: Path, change: str, expected: str
) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    source = get_task("humaneval").source
    [path] = source.files_of()
    files = hub.repos["openai/openai_humaneval"].commits[source.revision]
    rows = pq.read_table(io.BytesIO(files[path])).to_pylist()
    if change == "missing":
        del files[path]
    else:
        rows = rows[:-1] if change == "short" else [*rows[:-1], rows[0]]
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), sink)
        files[path] = sink.getvalue()
    fetched = fetch_dataset("humaneval", tmp_path)
    assert fetched.line.startswith(expected)
    assert fetch_dataset("gsm8k", tmp_path).error is None  # the next dataset is fetched all the same


def test_two_locks_on_one_cache_add_to_the_file_instead_of_replacing_it(tmp_path: Path) -> None:
    from evalclient.tasks.lock import DatasetLock, LockedFile

    first, second = DatasetLock.open(tmp_path), DatasetLock.open(tmp_path)  # two processes, read at once
    first.lock_file("a/x", "c" * 40, "c" * 40, "one.parquet", LockedFile("1" * 64, 1))
    second.lock_file("a/x", "c" * 40, "c" * 40, "two.parquet", LockedFile("2" * 64, 2))
    second.lock_commit("b/y", "main", "d" * 40)
    reread = DatasetLock.open(tmp_path)
    assert reread.file("a/x", "c" * 40, "one.parquet") == LockedFile("1" * 64, 1)
    assert reread.file("a/x", "c" * 40, "two.parquet") == LockedFile("2" * 64, 2)
    assert reread.commit("b/y", "main") == "d" * 40
