"""Faults of an overnight sweep, one test each, on the real engine with the simulator image: a container
killed mid-dataset, an OOM kill, a crashing server, SIGHUP and SIGTERM mid-dataset (then a rerun that sends
only what was not answered), the suite SIGKILLed (its orphan reaped by the next run), and a live run's
container spared by cleanup."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalclient.sweep.demo import demo_data_dir

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
SLOW = ("--decode-step-ms", "40")  # ~1.4 s per gsm8k answer: a dataset of 12 takes several seconds
Variant = Callable[..., str]


def _args(out: Path, image: str, presets: str = "balanced", *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "evalclient", "run", "--models", "qwen2.5_8b", "--presets", presets,
        "--datasets", "gsm8k", "--samples", "all", "--image", image, "--gpus", "none", "--output", str(out),
        "--data-dir", str(demo_data_dir()), "--concurrency", "2", *extra,
    ]  # fmt: skip


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    try:
        _, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stderr


def _answered(out: Path, preset: str = "balanced") -> list[dict[str, Any]]:
    path = out / "cache" / "checkpoints" / f"qwen2.5_8b_{preset}_gsm8k.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()[1:] if line.strip()]
    return [r for r in rows if not r["error"] and all(not c["error"] for c in r["completions"])]


def _wait(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def _containers(docker_client: Any, image: str) -> list[Any]:
    return list(docker_client.containers.list(all=True, filters={"ancestor": image}))


def _manifest(out: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((out / "manifest.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def test_container_killed_mid_dataset_fails_its_deployment_and_the_next_completes(
    docker_client: Any, variant: Variant, tmp_path: Path
) -> None:
    image = variant(*SLOW)
    proc = _start(_args(tmp_path, image, "balanced,performance"))
    _wait(lambda: len(_answered(tmp_path)) >= 2, proc)
    [container] = [c for c in _containers(docker_client, image) if "balanced" in c.name]
    container.kill()
    killed = time.monotonic()
    key = "qwen2.5_8b/balanced/gsm8k"
    _wait(lambda: _manifest(tmp_path).get("combinations", {}).get(key, {}).get("status") == "failed", proc)
    assert time.monotonic() - killed < 30
    code, stderr = _finish(proc)
    assert code == 1, stderr
    reason = _manifest(tmp_path)["combinations"][key]["error"]
    assert "exited with code 137 (killed by SIGKILL)" in reason
    assert (
        "qwen2.5_8b/balanced/gsm8k failed: the deployment was lost: container evalclient-qwen2-5_8b_balanced"
        in stderr
    )
    record = json.loads((tmp_path / "metrics/detailed/qwen2.5_8b_performance_gsm8k.json").read_text())
    assert (record["status"], record["num_samples"]) == ("complete", 12)
    assert not _containers(docker_client, image)


def test_an_oom_kill_is_recorded_as_oom(docker_client: Any, variant: Variant, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "presets", config)
    sweep = config / "sweep.yaml"
    sweep.write_text(sweep.read_text().replace("  image: ghcr", "  memory_limit: 160m\n  image: ghcr", 1))
    image = variant("--fault-oom-after", "2")
    out = tmp_path / "out"
    code, stderr = _finish(
        _start([*_args(out, image)[:3], "--config-dir", str(config), *_args(out, image)[3:]])
    )
    assert code == 1, stderr
    reason = _manifest(out)["combinations"]["qwen2.5_8b/balanced/gsm8k"]["error"]
    assert "was killed for running out of memory (OOMKilled, exit code 137)" in reason
    assert len(_answered(out)) >= 2  # what it answered before dying is kept
    assert not _containers(docker_client, image)


def test_a_crashing_server_fails_its_combination_with_the_log(
    docker_client: Any, variant: Variant, tmp_path: Path
) -> None:
    image = variant("--crash-after", "3")
    code, stderr = _finish(_start(_args(tmp_path, image, "balanced", "--concurrency", "1")))
    assert code == 1, stderr
    reason = _manifest(tmp_path)["combinations"]["qwen2.5_8b/balanced/gsm8k"]["error"]
    assert "exited with exit code 1" in reason
    assert "simulated crash after 3 generation requests" in reason
    assert len(_answered(tmp_path)) == 3
    assert not _containers(docker_client, image)


def test_sighup_mid_dataset_leaves_no_container(docker_client: Any, variant: Variant, tmp_path: Path) -> None:
    image = variant(*SLOW)
    proc = _start(_args(tmp_path, image))
    _wait(lambda: len(_answered(tmp_path)) >= 1, proc)
    proc.send_signal(signal.SIGHUP)
    code, _ = _finish(proc, timeout=60)
    assert code == 130
    assert not _containers(docker_client, image)
    assert _manifest(tmp_path)["status"] == "interrupted"


def _requested_questions(out: Path) -> list[str]:
    """The questions each run's container was asked, from the container logs the runs saved."""
    asked = []
    for log in sorted((out / "logs/model_evaluation").glob("*_container.log")):
        asked += [
            json.loads(line.split(" request ", 1)[1])
            for line in log.read_text().splitlines()
            if " request " in line
        ]
    return asked


def test_sigterm_then_rerun_asks_only_the_unanswered(
    docker_client: Any, variant: Variant, sim_image: str, tmp_path: Path
) -> None:
    image = variant(*SLOW)
    out = tmp_path / "interrupted"
    proc = _start(_args(out, image))
    _wait(lambda: len(_answered(out)) >= 3, proc)
    proc.send_signal(signal.SIGTERM)
    code, stderr = _finish(proc, timeout=60)
    assert code == 130, stderr
    assert "run the same command again to resume" in stderr
    assert not _containers(docker_client, image)
    first = {row["id"] for row in _answered(out)}
    first_logs = set((out / "logs/model_evaluation").glob("*_container.log"))

    code, stderr = _finish(_start(_args(out, image)))
    assert code == 0, stderr
    assert f"{len(first)} answers from the checkpoint reused, {12 - len(first)} to ask" in stderr
    [second_log] = set((out / "logs/model_evaluation").glob("*_container.log")) - first_logs
    asked_again = [
        json.loads(line.split(" request ", 1)[1])
        for line in second_log.read_text().splitlines()
        if " request " in line
    ]
    assert len(asked_again) == 12 - len(first)
    questions = [
        json.loads(line)["question"] for line in (demo_data_dir() / "gsm8k.jsonl").read_text().splitlines()
    ]
    for index, question in enumerate(questions):  # gsm8k ids are row indices
        times = sum(question.strip() in text for text in asked_again)
        assert times == (0 if str(index) in first else 1), (index, times)

    whole = tmp_path / "uninterrupted"
    code, stderr = _finish(_start(_args(whole, sim_image)))
    assert code == 0, stderr
    reference_record, reference = _predictions(whole)
    resumed_record, resumed = _predictions(out)
    assert resumed == reference  # the same answer for every sample as a run that was never interrupted
    assert resumed_record["dataset_metrics"] == reference_record["dataset_metrics"]
    assert (resumed_record["status"], resumed_record["reused_samples"]) == ("complete", len(first))
    assert not (out / "cache/checkpoints/qwen2.5_8b_balanced_gsm8k.jsonl").exists()


def _predictions(out: Path) -> tuple[dict[str, Any], dict[str, str]]:
    record = json.loads((out / "metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    rows = [json.loads(line) for line in (out / record["predictions_file"]).read_text().splitlines()]
    return record, {row["id"]: row["response"] for row in rows}


def test_sigkilled_suite_leaves_an_orphan_that_the_next_run_reaps(
    docker_client: Any, variant: Variant, sim_image: str, tmp_path: Path
) -> None:
    slow_start = variant("--startup-delay", "120")
    proc = _start(_args(tmp_path / "killed", slow_start))
    _wait(lambda: bool(_containers(docker_client, slow_start)), proc)
    proc.kill()
    proc.wait(timeout=10)
    [orphan] = _containers(docker_client, slow_start)
    code, stderr = _finish(_start(_args(tmp_path / "next", sim_image)))
    assert code == 0, stderr
    assert f"removed {orphan.name}: left by an evalclient run that died" in stderr
    assert not _containers(docker_client, slow_start)


def test_cleanup_spares_a_live_run_and_two_runs_never_share_a_folder(
    docker_client: Any, variant: Variant, tmp_path: Path
) -> None:
    slow_start = variant("--startup-delay", "120")
    proc = _start(_args(tmp_path, slow_start))
    try:
        _wait(lambda: bool(_containers(docker_client, slow_start)), proc)
        [live] = _containers(docker_client, slow_start)
        cleanup = subprocess.run(
            [sys.executable, "-m", "evalclient", "cleanup"], capture_output=True, text=True, timeout=60
        )
        assert cleanup.returncode == 0, cleanup.stderr
        assert re.search(rf"kept container {live.name} \(run \S+\): its run is still going", cleanup.stdout)
        assert _containers(docker_client, slow_start)
        second = subprocess.run(_args(tmp_path, slow_start), capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"error: another evalclient run is writing to {tmp_path} (run ")
        assert lines[0].endswith("wait for it to finish, or pass --output with another folder")
    finally:
        proc.send_signal(signal.SIGTERM)
        _finish(proc, timeout=60)
    assert not _containers(docker_client, slow_start)
