"""The judge phase on the real engine: generation with the simulator, then `evalclient judge` with the
simulator as judge (evalclient/sim/data/judge_rules.yaml scripts its ratings and preferences), as a deployment
of a models.yaml model and as an endpoint; a second call sends no request."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalclient.deploy.ports import PortLease
from evalclient.tasks.alpaca_eval import LC_HINT

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
RULES = "/opt/evalclient/evalclient/sim/data/judge_rules.yaml"  # inside the simulator image
Variant = Callable[..., str]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalclient", *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def _record(out: Path, dataset: str) -> dict[str, Any]:
    path = out / "metrics" / "detailed" / f"qwen2.5_8b_balanced_{dataset}.json"
    return dict(json.loads(path.read_text()))


def _judge_logs(out: Path) -> list[Path]:
    return sorted((out / "logs" / "model_evaluation").glob("judge_*_container.log"))


def _generate(image: str, out: Path) -> None:
    result = _cli(
        *("run", "--models", "qwen2.5_8b", "--presets", "balanced", "--datasets", "mt_bench,alpaca_eval"),
        *("--samples", "all", "--image", image, "--gpus", "none", "--output", str(out), "--quiet"),
        *("--data-dir", str(FIXTURES)),
    )
    assert result.returncode == 0, result.stderr
    for dataset in ("mt_bench", "alpaca_eval"):
        record = _record(out, dataset)
        assert (record["status"], record["num_samples"]) == ("complete", 4)
        assert record["dataset_metrics"]["judge_status"] == "pending"
        assert "evalclient judge" in record["dataset_metrics"]["pending_reason"]


def _assert_expected_scores(out: Path, judge_name: str) -> None:
    mt_bench = _record(out, "mt_bench")["dataset_metrics"]
    assert mt_bench["judge_status"] == "judged"
    assert mt_bench["mt_bench_score"] == pytest.approx(52 / 7)
    assert (mt_bench["mt_bench_score_turn1"], mt_bench["mt_bench_score_turn2"]) == (8.5, 6.0)
    assert mt_bench["mt_bench_category_scores"] == {
        "humanities": 7.0,
        "math": 8.5,
        "reasoning": 7.0,
        "writing": 7.0,
    }
    assert (mt_bench["num_ratings"], mt_bench["num_judgments_unparseable"]) == (7, 1)
    assert mt_bench["response_quality_score"] == pytest.approx(52 / 70)
    assert mt_bench["judge"]["name"] == judge_name
    alpaca = _record(out, "alpaca_eval")["dataset_metrics"]
    assert alpaca["win_rate"] == pytest.approx(66.25)
    assert alpaca["discrete_win_rate"] == 62.5
    assert (alpaca["n_wins"], alpaca["n_wins_base"], alpaca["n_draws"], alpaca["n_total"]) == (2, 1, 1, 4)
    assert alpaca["preference_sources"] == {"identical_outputs": 1, "logprobs": 3}
    assert alpaca["response_quality_score"] == pytest.approx(0.6625)
    assert alpaca["length_controlled_winrate"] is None
    assert alpaca["length_controlled_unavailable"] == LC_HINT


def test_judge_deployment_grades_stored_answers_and_resumes(variant: Variant, tmp_path: Path) -> None:
    image = variant("--rules", RULES)
    out = tmp_path / "results"
    _generate(image, out)
    args = ("judge", "--output", str(out), "--judge-model", "qwen2.5_14b", "--image", image, "--gpus", "none")
    first = _cli(*args, "--data-dir", str(FIXTURES))
    assert first.returncode == 0, first.stderr
    assert "judge requests sent: 11; judgments reused: 0" in first.stderr
    assert "self-judge" in first.stderr
    _assert_expected_scores(out, "qwen2.5_14b")
    identity = _record(out, "mt_bench")["dataset_metrics"]["judge"]
    assert (identity["kind"], identity["model"], identity["self_judge"]) == (
        "deployment",
        "Qwen/Qwen2.5-14B-Instruct",
        True,
    )
    [log] = _judge_logs(out)
    assert log.read_text().count("evalclient-sim: request") == 11  # 8 turns + 3 comparisons (1 draw)
    judgments = out / "predictions" / "judgments" / "qwen2.5_8b_balanced_mt_bench.jsonl"
    rows = [json.loads(line) for line in judgments.read_text().splitlines()]
    assert len(rows) == 8
    assert {r["meta"]["prompt"] for r in rows} == {
        "single-v1",
        "single-math-v1",
        "single-v1-multi-turn",
        "single-math-v1-multi-turn",
    }
    assert all(r["judge"] == "qwen2.5_14b" and r["messages"][0]["role"] == "system" for r in rows)
    predictions = out / _record(out, "mt_bench")["predictions_file"]
    scored = [json.loads(line)["score"] for line in predictions.read_text().splitlines()]
    assert sorted(s["ratings"]["1"] for s in scored) == [7.0, 8.0, 9.0, 10.0]

    second = _cli(*args, "--data-dir", str(FIXTURES))
    assert second.returncode == 0, second.stderr
    assert "judge requests sent: 0; judgments reused: 11" in second.stderr
    assert len(_judge_logs(out)) == 1  # no judge was started: nothing left to judge
    assert len(judgments.read_text().splitlines()) == 8
    _assert_expected_scores(out, "qwen2.5_14b")


def test_judge_endpoint_sends_nothing_the_second_time(
    docker_client: Any, variant: Variant, tmp_path: Path
) -> None:
    image = variant("--rules", RULES)
    out = tmp_path / "results"
    _generate(image, out)
    with PortLease() as lease:
        container = docker_client.containers.run(
            image,
            [
                "--model-id",
                "judge-sim",
                "--port",
                str(lease.port),
                "--profile",
                "fast",
                "--prometheus-port",
                "0",
            ],
            name=f"evalclient-test-judge-{uuid.uuid4().hex[:8]}",
            network_mode="host",
            detach=True,
        )
        try:
            url = f"http://127.0.0.1:{lease.port}"
            _wait_healthy(url)
            args = (
                "judge",
                "--output",
                str(out),
                "--judge-endpoint",
                url,
                "--judge-endpoint-model",
                "judge-sim",
            )
            first = _cli(*args, "--data-dir", str(FIXTURES))
            assert first.returncode == 0, first.stderr
            assert _requests_served(url) == 11
            _assert_expected_scores(out, "judge-sim")
            assert _record(out, "alpaca_eval")["dataset_metrics"]["judge"]["kind"] == "endpoint"
            second = _cli(*args, "--data-dir", str(FIXTURES))
            assert second.returncode == 0, second.stderr
            assert "judge requests sent: 0; judgments reused: 11" in second.stderr
            assert _requests_served(url) == 11
        finally:
            container.remove(force=True)


def _wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never became healthy")


def _requests_served(url: str) -> int:
    """tgi_request_count from the simulator's /metrics: every generation request it received."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    line = next(line for line in text.splitlines() if line.startswith("tgi_request_count"))
    return int(float(line.split()[-1]))
