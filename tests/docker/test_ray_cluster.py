"""The sweep on a real local Ray cluster of two nodes (Ray's own multi-node test utility), each declaring
virtual GPUs, driving simulator containers on the real Docker engine: the deployments spread over both nodes
and the driver's results tree equals a local run's; a node killed mid-sweep fails only its deployment and a
rerun completes it; Ctrl-C on the driver stops every remote deployment and removes its container."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evalclient.sweep.demo import demo_data_dir

if os.environ.get("EVALCLIENT_REQUIRE_DOCKER") == "1":  # CI: `make install` installs Ray; never skip there
    import ray.cluster_utils as ray_cluster_utils
else:
    ray_cluster_utils = pytest.importorskip("ray.cluster_utils", reason="Ray is installed by `make install`")

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
SIM_FLAGS = ("--startup-delay", "2", "--decode-step-ms", "15")
# a node is declared dead after ~2 missed 1 s health checks instead of the default ~30 s
FAST_HEALTH = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 1000,
    "health_check_failure_threshold": 2,
}
Variant = Callable[..., str]


class TwoNodes:
    """A head and a worker node, one virtual GPU each unless told (the head's CPU is the driver's); the
    worker's raylet, and so its actors, may get environment variables of their own."""

    def __init__(self, head_gpus: int = 1, worker_env: dict[str, str] | None = None) -> None:
        self.cluster = ray_cluster_utils.Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "num_gpus": head_gpus, "_system_config": FAST_HEALTH},
            connect=False,
        )
        self.worker = self.cluster.add_node(num_cpus=1, num_gpus=1, env_vars=worker_env)
        self.cluster.wait_for_nodes()

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    @property
    def worker_id(self) -> str:
        return str(self.worker.node_id)

    def shutdown(self) -> None:
        self.cluster.shutdown()


@pytest.fixture
def two_nodes() -> Iterator[TwoNodes]:
    cluster = TwoNodes()
    try:
        yield cluster
    finally:
        cluster.shutdown()


def _args(
    out: Path,
    image: str,
    *more: str,
    models: str = "qwen2.5_8b,qwen3_8b",
    presets: str = "all",
    datasets: str = "gsm8k,arc_challenge:generative",
) -> list[str]:
    return [
        sys.executable, "-m", "evalclient", "run", "--models", models, "--presets", presets,
        "--datasets", datasets, "--samples", "6", "--image", image,
        "--output", str(out), "--data-dir", str(demo_data_dir()), "--concurrency", "2", *more,
    ]  # fmt: skip


def _ray(out: Path, image: str, address: str, **select: str) -> list[str]:
    return _args(out, image, "--backend", "ray", "--ray-address", address, "--gpus", "virtual", **select)


def _manifest(out: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((out / "manifest.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _answers(out: Path) -> dict[str, dict[str, Any]]:
    """Per combination: each prediction's answer as the server sent it and its verdict, and the dataset's
    metrics; what a local run and a cluster run must agree on."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((out / "metrics" / "detailed").glob("*.json")):
        record = json.loads(path.read_text())
        rows = [json.loads(line) for line in (out / record["predictions_file"]).read_text().splitlines()]
        found[path.stem] = {
            "status": record["status"],
            "metrics": record["dataset_metrics"],
            "answers": {r["id"]: (r["response"], r["score"]) for r in rows},
        }
    return found


def test_the_sweep_spreads_over_both_nodes_and_writes_the_tree_a_local_run_writes(
    docker_client: Any, variant: Variant, two_nodes: TwoNodes, tmp_path: Path
) -> None:
    image = variant(*SIM_FLAGS)
    cluster = subprocess.run(
        _ray(tmp_path / "ray", image, two_nodes.address),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert cluster.returncode == 0, cluster.stderr
    local = subprocess.run(
        _args(tmp_path / "local", image, "--gpus", "virtual:2"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert local.returncode == 0, local.stderr
    manifest = _manifest(tmp_path / "ray")
    assert manifest["backend"] == "ray"
    assert manifest["status"] == "finished"
    assert len(manifest["cluster"]) == 2
    deployments = manifest["deployments"]
    assert len(deployments) == 6
    assert {d["node_id"] for d in deployments.values()} == {n["node_id"] for n in manifest["cluster"]}
    assert all(d["ready_at"] and d["ended_at"] and d["virtual_gpus"] for d in deployments.values())
    ours, theirs = _answers(tmp_path / "ray"), _answers(tmp_path / "local")
    assert len(ours) == 12
    assert {c["status"] for c in ours.values()} == {"complete"}
    assert ours == theirs
    checkpoints = tmp_path / "ray" / "cache" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == sorted(
        p.name for p in (tmp_path / "local" / "cache" / "checkpoints").iterdir()
    )
    for combination in ours:  # the container's own log, streamed from the node
        model_preset = combination.rsplit("_", 1)[0].removesuffix("_arc").removesuffix("_gsm8k")
        assert list((tmp_path / "ray" / "logs" / "model_evaluation").glob(f"{model_preset}_*_container.log"))


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _running_on(out: Path, node_id: str | None = None) -> list[str]:
    """Deployments that are ready and not ended (on `node_id` when given)."""
    deployments = _manifest(out).get("deployments", {})
    return [
        key
        for key, d in deployments.items()
        if d.get("ready_at") and not d.get("ended_at") and node_id in (None, d.get("node_id"))
    ]


def test_a_node_killed_mid_sweep_fails_only_its_deployment_and_a_rerun_completes_it(
    docker_client: Any, variant: Variant, two_nodes: TwoNodes, tmp_path: Path
) -> None:
    image = variant("--startup-delay", "2", "--decode-step-ms", "60")
    out = tmp_path / "out"
    lost: list[str] = []

    def kill_the_worker() -> None:
        lost.extend(_running_on(out, two_nodes.worker_id))
        two_nodes.cluster.remove_node(two_nodes.worker, allow_graceful=False)

    def answering_on_worker() -> bool:  # a deployment on the worker with answers in the driver's checkpoints
        running = _running_on(out, two_nodes.worker_id)
        return bool(running) and any(_checkpointed(out).get(running[0], {}).values())

    returncode, stderr = _sweep_until(
        _ray(out, image, two_nodes.address), answering_on_worker, kill_the_worker, 300
    )
    assert returncode == 1, stderr
    assert len(lost) == 1
    combinations = _manifest(out)["combinations"]
    failed = {key: c for key, c in combinations.items() if c["status"] != "complete"}
    model, preset = _split(lost[0])
    assert set(failed) <= {f"{model}/{preset}/gsm8k", f"{model}/{preset}/arc_challenge"}
    assert failed, "the lost deployment had combinations left"
    assert all("the cluster lost this deployment on node" in c["error"] for c in failed.values())
    assert len(combinations) == 12
    kept = _checkpointed(out)[lost[0]]  # the answers streamed to the driver before the node died
    assert sum(kept.values()) >= 1
    rerun = subprocess.run(
        _ray(out, image, two_nodes.address), capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    after = _manifest(out)["combinations"]
    assert {key for key, c in after.items() if c["status"] == "complete"} == set(failed)
    assert {c["status"] for key, c in after.items() if key not in failed} == {"skipped"}
    for dataset, answered in kept.items():  # resumed from the driver's checkpoints: those are not asked again
        record = json.loads((out / "metrics" / "detailed" / f"{lost[0]}_{dataset}.json").read_text())
        assert record["reused_samples"] == answered


def _checkpointed(out: Path) -> dict[str, dict[str, int]]:
    """Answers in the driver's checkpoints: deployment → dataset → rows (the header line excluded)."""
    found: dict[str, dict[str, int]] = {}
    for path in (out / "cache" / "checkpoints").glob("*.jsonl"):
        deployment, dataset = path.stem.rsplit("_", 1)
        if dataset == "challenge":
            deployment, dataset = deployment.removesuffix("_arc"), "arc_challenge"
        lines = path.read_text().splitlines()
        found.setdefault(deployment, {})[dataset] = max(len(lines) - 1, 0)
    return found


def _sweep_until(
    args: list[str],
    ready: Callable[[], bool],
    then: Callable[[], None],
    timeout: float,
    started: list[subprocess.Popen[str]] | None = None,
) -> tuple[int, str]:
    """Start the sweep, wait until `ready()`, do `then()`, and wait for the sweep's exit code and stderr."""
    sweep = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if started is not None:
        started.append(sweep)
    try:
        _wait_for(ready, 120, "the moment to act")
        then()
        _, stderr = sweep.communicate(timeout=timeout)
    finally:
        sweep.kill()
    return sweep.returncode, stderr


def _split(deployment: str) -> tuple[str, str]:
    for preset in ("memory_optimized", "performance", "balanced"):
        if deployment.endswith("_" + preset):
            return deployment.removesuffix("_" + preset), preset
    raise AssertionError(deployment)


def test_ctrl_c_on_the_driver_stops_both_remote_deployments_and_removes_their_containers(
    docker_client: Any, variant: Variant, two_nodes: TwoNodes, tmp_path: Path
) -> None:
    image = variant("--startup-delay", "1", "--decode-step-ms", "80")
    out = tmp_path / "out"
    sweep: list[subprocess.Popen[str]] = []
    both = lambda: len(_running_on(out)) == 2  # noqa: E731
    interrupt = lambda: sweep[0].send_signal(signal.SIGINT)  # noqa: E731
    returncode, stderr = _sweep_until(_ray(out, image, two_nodes.address), both, interrupt, 150, sweep)
    assert returncode == 130, stderr
    manifest = _manifest(out)
    assert manifest["status"] == "interrupted"
    assert all(d.get("ended_at") for d in manifest["deployments"].values())


def test_plan_shows_where_each_deployment_can_run_on_the_cluster() -> None:
    """A node of one 24 GB GPU serves the 8B model but not the 14B one, which takes both GPUs of the other."""
    cluster = ray_cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 1}, connect=False
    )
    try:
        big = cluster.add_node(num_cpus=1, num_gpus=2)
        cluster.wait_for_nodes()
        args = [
            "plan", "--backend", "ray", "--ray-address", cluster.address, "--gpus", "virtual:1x24@8.9",
            "--models", "qwen3_8b,qwen3_14b", "--presets", "balanced", "--datasets", "gsm8k",
        ]  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "evalclient", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "250"},
            timeout=120,
        )
    finally:
        cluster.shutdown()
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "_balanced " in line}
    small_first = result.stdout.index("(1 virtual GPU of 24 GB)") < result.stdout.index(
        f"node {big.node_id[:6]}"
    )
    cells = [c.strip() for c in rows["qwen3_14b_balanced"].split("│")[2:4]]
    assert cells == (["cannot run", "2 GPU(s)"] if small_first else ["2 GPU(s)", "cannot run"])
    assert [c.strip() for c in rows["qwen3_8b_balanced"].split("│")[2:4]] == ["1 GPU(s)", "1 GPU(s)"]
    assert "3 GPUs on 2 nodes" in result.stdout


BROKEN_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # this node's actors cannot reach Docker


def _sweep_with_a_broken_worker(
    variant: Variant, out: Path, head_gpus: int, models: str, timeout: float
) -> tuple[subprocess.CompletedProcess[str], str]:
    """One preset of gsm8k on a cluster whose worker cannot reach Docker; the run and the worker's id."""
    nodes = TwoNodes(head_gpus, BROKEN_DOCKER)
    try:
        args = _ray(
            out, variant(*SIM_FLAGS), nodes.address, models=models, presets="balanced", datasets="gsm8k"
        )
        return subprocess.run(
            args, capture_output=True, text=True, cwd=ROOT, timeout=timeout
        ), nodes.worker_id
    finally:
        nodes.shutdown()


def test_a_node_that_cannot_start_containers_is_left_out_and_its_deployment_runs_on_another(
    docker_client: Any, variant: Variant, tmp_path: Path
) -> None:
    """Two deployments of one GPU on two one-GPU nodes start at once, one on each; the worker's Docker is
    unreachable, so it refuses its deployment, which then runs on the head after the other."""
    done, worker_id = _sweep_with_a_broken_worker(variant, tmp_path, 1, "qwen2.5_8b,qwen3_8b", 300)
    assert done.returncode == 0, done.stderr
    manifest = _manifest(tmp_path)
    assert {c["status"] for c in manifest["combinations"].values()} == {"complete"}
    assert len(manifest["combinations"]) == 2
    head = next(n["node_id"] for n in manifest["cluster"] if n["node_id"] != worker_id)
    assert {d["node_id"] for d in manifest["deployments"].values()} == {head}
    reason = manifest["unusable_nodes"][worker_id]["reason"]
    assert reason.startswith("cannot reach the Docker engine at unix:///nonexistent/docker.sock")
    assert f"({worker_id[:6]}) cannot start containers: cannot reach the Docker engine" in done.stderr


def test_a_deployment_that_only_an_unusable_node_could_hold_fails_with_why_instead_of_waiting(
    docker_client: Any, variant: Variant, tmp_path: Path
) -> None:
    """The only GPU node cannot reach Docker: the deployment fails within seconds, naming the node's fault."""
    done, worker_id = _sweep_with_a_broken_worker(variant, tmp_path, 0, "qwen3_8b", 120)
    assert done.returncode == 1, done.stderr
    [combination] = _manifest(tmp_path)["combinations"].values()
    assert combination["status"] == "failed"
    assert re.match(
        r"no live node of the cluster that can start containers has the 1 GPU\(s\) it needs \(node \S+ "
        rf"\({worker_id[:6]}\) cannot start containers: cannot reach the Docker engine at unix:",
        combination["error"],
    ), combination["error"]
