"""The air-gapped path end to end, as a user runs it: `evalclient datasets fetch` against a hub (the stand-in,
laid out as the real repositories) fills the results tree's dataset cache, then, with the hub gone and
`HF_HUB_OFFLINE=1`, `evalclient run` evaluates all twelve default datasets from that cache alone against a
simulator; and a file the hub changes after the fetch fails the next online run of that dataset, naming both
hashes. Every step is the CLI in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim_process import start_sim, wait_ready

from evalclient.results import CombinationRecord, ResultsOrganizer
from evalclient.tasks import get_task

DATASETS = (
    "humaneval", "mbpp", "codet5", "gsm8k", "arc_challenge", "hellaswag",
    "mt_bench", "alpaca_eval", "mmlu", "truthfulqa", "bfcl", "toolllama",
)  # fmt: skip
ROWS = {
    "humaneval": "164", "mbpp": "500", "codet5": "14,918", "gsm8k": "1,319", "arc_challenge": "1,172",
    "hellaswag": "10,042", "mt_bench": "80", "alpaca_eval": "805", "mmlu": "14,042", "truthfulqa": "817",
    "bfcl": "1,390", "toolllama": "12",
}  # fmt: skip
"""The split sizes the sources declare (toolllama's branch: the stand-in's 12 rows)."""


def _cli(*args: str, env: Mapping[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalclient", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "EVALCLIENT_SANDBOX": "subprocess"}
    env.update(values)
    return env


def _start_sim(launch: list[subprocess.Popen[str]], env: Mapping[str, str]) -> str:
    proc, port, _ = start_sim(launch, "--model-id", "Qwen/Qwen3-8B", "--enable-prefill-logprobs", env=env)
    wait_ready(port, proc, 30)
    return f"http://127.0.0.1:{port}"


def _records(out: Path) -> dict[str, CombinationRecord]:
    results = ResultsOrganizer(out)
    found = {name: results.load_combination("qwen3_8b", "balanced", name) for name in DATASETS}
    return {name: record for name, record in found.items() if record is not None}


def test_fetch_then_every_dataset_offline_from_the_cache_alone(
    built_hub: Any, launch: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    out = tmp_path / "results"
    hub = built_hub.copy()
    with hub.serving() as url:
        online = _env(tmp_path, HF_ENDPOINT=url, EVALCLIENT_GITHUB_RAW=f"{url}/raw", HF_HUB_OFFLINE="0")
        fetched = _cli("datasets", "fetch", "--output", str(out), env=online)
    assert fetched.returncode == 0, fetched.stderr
    lines = fetched.stdout.splitlines()
    assert lines[0] == f"fetching 12 dataset(s) into {out / 'cache' / 'datasets'}"
    for name in DATASETS:
        assert any(line.startswith(f"✓ {name}: {ROWS[name]} rows, ") for line in lines), name
    assert "✓ mt_bench judge data: mt_bench.reference_answer.jsonl" in lines
    assert "✓ alpaca_eval judge data: alpaca_eval.df_gamed.csv" in lines
    assert not hub.downloaded(".py")  # no loading script was ever fetched

    # the hub is gone (nothing listens where it was) and may not be asked
    offline = _env(tmp_path, HF_ENDPOINT=url, HF_HUB_OFFLINE="1")
    sim = _start_sim(launch, offline)
    run = _cli(
        "run", "--endpoint", sim, "--models", "qwen3_8b", "--presets", "balanced",
        "--datasets", ",".join(DATASETS), "--samples", "3", "--output", str(out), env=offline,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    records = _records(out)
    assert sorted(records) == sorted(DATASETS)
    for name, record in records.items():
        assert (record.status, record.num_samples, record.num_errors) == ("complete", 3, 0), name
    assert records["mt_bench"].dataset_metrics["judge_status"] == "pending"
    assert records["humaneval"].dataset_metrics["pass@1"] is not None


def test_a_file_the_hub_changed_after_the_fetch_fails_that_dataset_naming_both_hashes(
    built_hub: Any, launch: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    import hashlib

    out = tmp_path / "results"
    hub = built_hub.copy()
    source = get_task("gsm8k").source
    [name] = source.files_of()
    with hub.serving() as url:
        online = _env(tmp_path, HF_ENDPOINT=url, HF_HUB_OFFLINE="0")
        fetched = _cli(
            "datasets", "fetch", "--datasets", "gsm8k,arc_challenge", "--output", str(out), env=online
        )
        assert fetched.returncode == 0, fetched.stderr
        original = hub.repos[source.path].commits[source.revision][name]
        changed = original + b"\0"
        hub.replace_file(source.path, source.revision, name, changed)
        sim = _start_sim(launch, online)
        run = _cli(
            "run", "--endpoint", sim, "--models", "qwen3_8b", "--presets", "balanced",
            "--datasets", "gsm8k,arc_challenge", "--samples", "3", "--output", str(out), env=online,
        )  # fmt: skip
    assert run.returncode == 1, run.stderr[-3000:]
    records = _records(out)
    assert records["arc_challenge"].status == "complete"
    assert "gsm8k" not in records  # nothing stored for it
    entry = json.loads((out / "manifest.json").read_text())["combinations"]["qwen3_8b/balanced/gsm8k"]
    assert (entry["status"], entry["metrics_file"]) == ("failed", None)
    message = entry["error"]
    assert message.startswith(
        f"gsm8k: the hub now serves {name} of {source.path}@{source.revision[:12]} with ETag "
        f"{hashlib.sha256(changed).hexdigest()}; the dataset lock has {hashlib.sha256(original).hexdigest()}"
    ), message
    assert "qwen3_8b/balanced/gsm8k failed: gsm8k: the hub now serves" in run.stderr
