"""The manifest as a typed model: one writer (the runner's reporter, on one host or as a cluster's driver),
one reader (the results tree); the file keeps its shape, and a full disk still closes it in place."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from evalclient.cluster.node import Batch
from evalclient.cluster.ray_cluster import ClusterNode
from evalclient.cluster.ray_runner import RayNodes, _Remote, ray_runner
from evalclient.config import load_config
from evalclient.errors import ResultsError, UsageError
from evalclient.planning.hardware import Gpu
from evalclient.planning.plan import build_plan
from evalclient.planning.slots import GpuPool, Slot
from evalclient.results import manifest as manifest_module
from evalclient.results.manifest import CombinationEntry, Manifest, ManifestAuthor, PlanEntry, read_manifest
from evalclient.sweep.run_types import Outcome
from evalclient.sweep.runner import EvaluationRunner, RunOptions

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
PLAN = build_plan(CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=["gsm8k"], samples=2,
                  engine="tgi", image=None)  # fmt: skip


def test_keys_only_some_runs_have_are_left_out_and_the_others_written_null() -> None:
    data = Manifest(run_id="r", status="running").to_json()
    assert list(data) == [
        "run_id", "started_at", "finished_at", "status", "backend", "engine", "image", "endpoint",
        "config_dir", "gpus", "plan", "deployments", "combinations",
    ]  # fmt: skip
    assert data["finished_at"] is None
    assert data["endpoint"] is None
    assert Manifest(error="full").to_json()["error"] == "full"


def test_a_partial_manifest_of_another_run_reads(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "run_id": "run-9",
                "status": "running",
                "engine": "tgi",
                "plan": [{"model": "m", "preset": "p", "datasets": {"gsm8k": 20}}],
                "combinations": {"m/p/gsm8k": {"status": "failed", "error": "why"}},
                "something_newer": 1,
            }
        )
    )
    manifest = read_manifest(path)
    assert manifest is not None
    assert manifest.plan == [PlanEntry(model="m", preset="p", datasets={"gsm8k": 20})]
    assert manifest.combinations == {"m/p/gsm8k": CombinationEntry(status="failed", error="why")}
    assert (manifest.run_id, manifest.engine, manifest.started_at) == (
        "run-9",
        "tgi",
        None,
    )
    assert read_manifest(tmp_path / "absent.json") is None
    path.write_text("[1, 2]")
    assert read_manifest(path) is None
    path.write_text(json.dumps({"plan": [{"preset": "p"}]}))
    with pytest.raises(ResultsError, match=r"cannot read .*manifest.json: plan\.0\.model: Field required"):
        read_manifest(path)


def test_on_a_full_disk_the_author_says_so_once_and_closes_the_manifest_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "manifest.json"
    told: list[OSError] = []
    author = ManifestAuthor(path, told.append)
    author.start(Manifest(run_id="r", status="running"))

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(manifest_module, "atomic_write_json", full)
    author.combination("m/p/d", "failed", "why", None)
    assert [e.errno for e in told] == [errno.ENOSPC]
    assert json.loads(path.read_text())["combinations"] == {}  # kept in memory
    author.close("failed", "no space left")
    text = path.read_text()
    assert "\n  " not in text  # compact
    data = json.loads(text)
    assert (data["status"], data["error"]) == ("failed", "no space left")
    assert data["combinations"]["m/p/d"]["error"] == "why"


def test_simulator_processes_only_name_the_gpu_slots(tmp_path: Path) -> None:
    runner = EvaluationRunner(CONFIG, PLAN, RunOptions(output=tmp_path, local_simulator=True, gpus=(0, 1)))
    runner.prepare()
    assert (runner.pool.ids, runner.pool.virtual) == ((0, 1), True)


def test_the_ray_backend_refuses_an_endpoint(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="starts engine containers on the cluster's nodes"):
        ray_runner(CONFIG, PLAN, RunOptions(output=tmp_path, endpoint="http://127.0.0.1:9", backend="ray"))


async def test_the_driver_records_nodes_events_and_outcomes_in_the_manifest(tmp_path: Path) -> None:
    runner = ray_runner(CONFIG, PLAN, RunOptions(output=tmp_path, backend="ray"))
    assert isinstance(runner.backend, RayNodes)
    pool = GpuPool((Gpu(0, "virtual", 80.0, (9, 0)),), virtual=True)
    runner.backend.nodes = [ClusterNode("abcdef0123", "10.0.0.7", pool)]
    runner.size(pool)
    runner.reporter.manifest.start(runner._new_manifest())
    sweep = runner._sweep()
    [deployment] = PLAN.deployments
    key = deployment.key
    outcome = Outcome("qwen2.5_8b", "balanced", "gsm8k", "complete", None, "metrics/x.json")
    batch = Batch(
        [],
        [("event", key, "started_at", Slot((0,), True), "10.0.0.7", "abcdef0123"), ("outcome", outcome)],
        "10.0.0.7 vGPU 0",
    )
    await _Remote(sweep, deployment).apply(batch)
    runner.backend._unusable(sweep, "10.0.0.8", "fedcba9876", "cannot reach the Docker engine")

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["backend"] == "ray"
    assert manifest["cluster"] == [
        {"node_id": "abcdef0123", "address": "10.0.0.7", "gpus": 1, "virtual": True}
    ]
    entry = manifest["deployments"][key]
    assert list(entry) == ["node", "node_id", "gpus", "virtual_gpus", "shards", "started_at"]
    assert (entry["node"], entry["gpus"], entry["virtual_gpus"], entry["shards"]) == (
        "10.0.0.7",
        [0],
        True,
        1,
    )
    assert manifest["combinations"]["qwen2.5_8b/balanced/gsm8k"]["metrics_file"] == "metrics/x.json"
    assert manifest["unusable_nodes"] == {
        "fedcba9876": {"address": "10.0.0.8", "reason": "cannot reach the Docker engine"}
    }
    assert "error" not in manifest
    assert [o.status for o in runner.summary.outcomes] == ["complete"]
