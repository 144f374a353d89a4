"""The CLI end to end on the real engine: run writes the tree, resume skips, cleanup removes leftovers."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalclient.deploy.docker_engine import MANAGED_LABEL, RUN_LABEL
from evalclient.sweep.demo import demo_data_dir

pytestmark = [pytest.mark.docker]
leaves_nothing = pytest.mark.usefixtures("no_leftovers")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalclient", *args], capture_output=True, text=True, timeout=600
    )


@leaves_nothing
def test_run_writes_results_tree_and_resumes(sim_image: str, tmp_path: Path) -> None:
    out = tmp_path / "results"
    args = (
        "run",
        "--models",
        "qwen2.5_8b",
        "--presets",
        "balanced,memory_optimized",
        "--datasets",
        "gsm8k,arc_challenge",
        "--samples",
        "all",
        "--image",
        sim_image,
        "--gpus",
        "none",
        "--output",
        str(out),
        "--data-dir",
        str(demo_data_dir()),
        "--quiet",
    )
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    assert "evaluation summary" in first.stdout
    detailed = sorted(p.name for p in (out / "metrics" / "detailed").iterdir())
    assert detailed == [
        f"qwen2.5_8b_{p}_{d}.json"
        for p in ("balanced", "memory_optimized")
        for d in ("arc_challenge", "gsm8k")
    ]
    record = json.loads((out / "metrics" / "detailed" / "qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert (record["schema_version"], record["status"], record["num_samples"]) == (2, "complete", 12)
    metrics = record["dataset_metrics"]  # the demo rules: Qwen2.5 answers 9 of 12, 8 with a #### line
    assert (metrics["accuracy"], metrics["exact_match_flexible"], metrics["exact_match_strict"]) == (
        0.75,
        0.75,
        8 / 12,
    )
    assert record["request_parameters"]["sampling"]["max_tokens"] == 512
    perf = record["performance_metrics"]
    assert perf["throughput_tokens_per_second"] > 0
    assert perf["time_to_ready_s"] > 0
    assert perf["gpu_utilization_percent"] is None
    assert "gpu_utilization_percent" in record["performance_unavailable"]
    assert record["provenance"]["image"] == sim_image
    assert "--model-id Qwen/Qwen2.5-7B-Instruct" in record["provenance"]["command"]
    predictions = out / record["predictions_file"]
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(rows) == 12
    assert all(r["error"] is None for r in rows)
    assert (out / "metrics" / "performance" / "qwen2.5_8b_balanced.csv").is_file()
    assert (out / "metrics" / "aggregated" / "summary.csv").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    run_id = manifest["run_id"]
    assert (out / "logs" / "model_evaluation" / f"qwen2.5_8b_balanced_{run_id}_container.log").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert {c["status"] for c in manifest["combinations"].values()} == {"complete"}

    second = _cli(*args[:-1])
    assert second.returncode == 0, second.stderr
    assert second.stderr.count(", skipped") == 4  # one line per combination found complete
    manifest = json.loads((out / "manifest.json").read_text())
    assert {c["status"] for c in manifest["combinations"].values()} == {"skipped"}


@leaves_nothing
def test_failed_deployment_exits_1_and_others_still_run(sim_image: str, tmp_path: Path) -> None:
    data = str(demo_data_dir())
    result = _cli(
        *("run", "--models", "qwen2.5_8b", "--presets", "balanced,performance", "--datasets", "gsm8k"),
        *("--samples", "3", "--image", "evalclient-no-such-image:0", "--gpus", "none", "--quiet"),
        *("--output", str(tmp_path / "results"), "--data-dir", data),
    )
    assert result.returncode == 1
    assert "2 combination(s) not complete" in result.stderr
    assert "qwen2.5_8b/balanced/gsm8k" in result.stderr
    assert "qwen2.5_8b/performance/gsm8k" in result.stderr
    assert "Traceback" not in result.stderr


@leaves_nothing
def test_cleanup_removes_labelled_leftovers(docker_client: Any, sim_image: str) -> None:
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    docker_client.containers.create(
        sim_image,
        ["--port", "1"],
        name="evalclient-test-leftover",
        labels={MANAGED_LABEL: "true", RUN_LABEL: run_id},
        network_mode="host",
    )
    result = _cli("cleanup", "--run", run_id)
    assert result.returncode == 0, result.stderr
    assert "removed container evalclient-test-leftover" in result.stdout
    assert not docker_client.containers.list(all=True, filters={"name": "evalclient-test-leftover"})


@leaves_nothing
def test_a_server_without_prompt_logprobs_fails_the_probe_not_the_run(
    variant: Callable[..., str], tmp_path: Path
) -> None:
    image = variant("--fault-no-prefill-logprobs")
    result = _cli(
        *("run", "--models", "qwen2.5_8b", "--presets", "balanced", "--datasets", "hellaswag,gsm8k"),
        *("--samples", "3", "--image", image, "--gpus", "none", "--quiet"),
        *("--output", str(tmp_path), "--data-dir", str(demo_data_dir())),
    )
    assert result.returncode == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    hellaswag = manifest["combinations"]["qwen2.5_8b/balanced/hellaswag"]
    assert hellaswag["status"] == "failed"
    assert hellaswag["error"].startswith("log-likelihood probe failed: TGI returned no prefill logprobs")
    assert manifest["combinations"]["qwen2.5_8b/balanced/gsm8k"]["status"] == "complete"
    assert "1 combination(s) not complete" in result.stderr


def test_bfcl_demo_tool_calls_through_the_simulator_image(
    docker_client: Any, sim_image: str, tmp_path: Path
) -> None:
    """The demo's bfcl in native mode on the real engine: the scripted calls come back as tool calls (and
    Qwen's markup), one per turn as TGI makes them, scored as the demo rules promise for Qwen2.5 on TGI.
    Leftovers are checked for this run's own containers only, so runs of others on the same engine are never
    touched."""
    out = tmp_path / "results"
    result = _cli(
        *("run", "--models", "qwen2.5_8b", "--presets", "balanced", "--datasets", "bfcl:native"),
        *("--samples", "all"),
        *("--image", sim_image, "--gpus", "none", "--output", str(out), "--quiet"),
        *("--data-dir", str(demo_data_dir())),
    )
    assert result.returncode == 0, result.stderr
    run_id = json.loads((out / "manifest.json").read_text())["run_id"]
    assert not docker_client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    record = json.loads((out / "metrics" / "detailed" / "qwen2.5_8b_balanced_bfcl.json").read_text())
    assert (record["status"], record["num_samples"], record["request_parameters"]["mode"]) == (
        "complete",
        12,
        "native",
    )
    metrics = record["dataset_metrics"]  # the demo rules: Qwen2.5 answers 9 of 12, 7 with one call per turn
    assert (metrics["accuracy"], metrics["ast_accuracy"], metrics["irrelevance_accuracy"]) == (
        7 / 12,
        pytest.approx(5 / 12),
        0.5,
    )
    assert metrics["function_calling_success_rate"] == 1.0
    rows = [json.loads(line) for line in (out / record["predictions_file"]).read_text().splitlines()]
    calls = {r["id"]: r["completions"][0]["tool_calls"] for r in rows}
    assert [c["name"] for c in calls["parallel_1"]] == ["set_timer"]  # TGI's tool grammar: one call
    assert [c["source"] for c in calls["simple_python_0"]] == ["text"]  # Qwen's <tool_call> markup
