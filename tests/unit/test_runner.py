"""The runner against the real simulator in-process (endpoint mode): outcomes, resume and isolation."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from evalclient.config import load_config
from evalclient.deploy.ports import PortLease
from evalclient.monitor.rows import ROW_COLUMNS
from evalclient.planning.plan import build_plan
from evalclient.sim import create_app
from evalclient.sim.config import SimConfig
from evalclient.sim.rules import load_rules
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.runner import EvaluationRunner, RunOptions

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
Start = Callable[..., Any]


@pytest.fixture
def sim(start_sim: Callable[..., Any]) -> Start:
    rules = load_rules(demo_data_dir().parent / "demo_rules.yaml")
    return lambda **overrides: start_sim(rules, model_id="Qwen/Qwen2.5-7B-Instruct", **overrides)


def _runner(
    endpoint: str, out: Path, datasets: tuple[str, ...] = ("gsm8k", "arc_challenge:generative"), **kw: Any
) -> Any:
    plan = build_plan(CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=datasets, samples=5,
                      engine="tgi", image=None)  # fmt: skip
    options = RunOptions(output=out, endpoint=endpoint, data_dir=demo_data_dir(), retry_wait_s=0.01, **kw)
    return EvaluationRunner(CONFIG, plan, options)


async def test_complete_then_resumed(sim: Start, tmp_path: Path) -> None:
    url = await sim()
    first = await _runner(url, tmp_path).run()
    assert [(o.dataset, o.status) for o in first.outcomes] == [
        ("gsm8k", "complete"),
        ("arc_challenge", "complete"),
    ]
    record = json.loads((tmp_path / "metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert record["num_samples"] == 5
    assert record["performance_metrics"]["num_errors"] == 0
    assert record["performance_metrics"]["time_to_ready_s"] is None
    assert (
        record["performance_unavailable"]["time_to_ready_s"] == "the server was already running (--endpoint)"
    )
    assert record["provenance"]["server_info"]["model_id"] == "Qwen/Qwen2.5-7B-Instruct"
    assert record["performance_unavailable"]["container_cpu_percent"] == (
        "the server does not run in a container evalclient started"
    )
    samples = (tmp_path / "metrics/performance/qwen2.5_8b_balanced.csv").read_text().splitlines()
    assert samples[0] == ",".join(ROW_COLUMNS)
    assert {line.split(",")[0] for line in samples[1:]} == {first.run_id}  # streamed while it ran
    assert any(",server," in line for line in samples[1:])
    second = await _runner(url, tmp_path).run()
    assert [o.status for o in second.outcomes] == ["skipped", "skipped"]
    third = await _runner(url, tmp_path, resume=False).run()
    assert [o.status for o in third.outcomes] == ["complete", "complete"]


async def test_all_requests_failing_is_a_failed_combination(sim: Start, tmp_path: Path) -> None:
    url = await sim(fault_503_first=1000)
    summary = await _runner(url, tmp_path, max_retries=1).run()
    assert [o.status for o in summary.outcomes] == ["failed", "failed"]
    assert (summary.outcomes[0].error or "").startswith(
        "all 5 samples failed; the first: overloaded: HTTP 503"
    )
    record = json.loads((tmp_path / "metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert (record["status"], record["num_errors"], record["dataset_metrics"]) == ("failed", 5, {})
    assert {e["kind"] for e in record["errors"]} == {"overloaded"}
    assert len(list((tmp_path / "predictions/by_model/qwen2.5_8b").iterdir())) == 2
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["combinations"]["qwen2.5_8b/balanced/gsm8k"]["status"] == "failed"


async def test_partial_failures_are_scored_and_rerun_next_time(sim: Start, tmp_path: Path) -> None:
    url = await sim(fault_stream_error_every=2)
    summary = await _runner(url, tmp_path, datasets=("gsm8k",), max_retries=0).run()
    assert [o.status for o in summary.outcomes] == ["partial"]
    assert summary.failed == summary.outcomes  # a partial combination is not a success
    record = json.loads((tmp_path / "metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert record["status"] == "partial"
    assert record["num_errors"] == record["performance_metrics"]["num_errors"] == 2  # every 2nd of 5 streams
    assert record["dataset_metrics"]["num_errors"] == 2
    assert record["dataset_metrics"]["num_samples"] == 5
    assert {e["kind"] for e in record["errors"]} == {"stream_error"}
    again = await _runner(url, tmp_path, datasets=("gsm8k",), max_retries=0).run()
    assert [o.status for o in again.outcomes] == ["partial"]  # not skipped: it had errors


async def test_unexpected_error_in_one_dataset_does_not_stop_the_next(
    sim: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalclient.tasks import get_task, registry

    async def broken(*_args: Any) -> Any:
        raise RuntimeError("scorer bug")

    monkeypatch.setitem(registry._TASKS, "gsm8k", replace(get_task("gsm8k"), scorer=broken))
    summary = await _runner(await sim(), tmp_path).run()
    assert [(o.dataset, o.status) for o in summary.outcomes] == [
        ("gsm8k", "failed"),
        ("arc_challenge", "complete"),
    ]
    assert "unexpected RuntimeError: scorer bug" in (summary.outcomes[0].error or "")
    log = next((tmp_path / "logs/model_evaluation").glob("run_*.log")).read_text()
    assert "Traceback" in log


async def _requests_served(url: str) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        text = await response.text()
    return sum(
        int(float(line.split()[-1])) for line in text.splitlines() if line.startswith("tgi_request_count")
    )


async def _sim_on(port: int, **overrides: Any) -> TestServer:
    rules = load_rules(demo_data_dir().parent / "demo_rules.yaml")
    config = SimConfig.for_profile("fast", model_id="Qwen/Qwen2.5-7B-Instruct", **overrides)
    server = TestServer(create_app(config, rules), host="127.0.0.1", port=port)
    await server.start_server()
    return server


async def test_a_rerun_asks_only_the_samples_that_errored(sim: Start, tmp_path: Path) -> None:
    with PortLease() as lease:  # the same endpoint twice: first flaky, then healthy
        url = f"http://127.0.0.1:{lease.port}"
        flaky = await _sim_on(lease.port, fault_stream_error_every=2)
        first = await _runner(url, tmp_path, datasets=("gsm8k",), max_retries=0).run()
        await flaky.close()
        healthy = await _sim_on(lease.port)
        try:
            again = await _runner(url, tmp_path, datasets=("gsm8k",), max_retries=0).run()
            served = await _requests_served(url)
        finally:
            await healthy.close()
    assert [o.status for o in first.outcomes] == ["partial"]
    assert [o.status for o in again.outcomes] == ["complete"]
    assert served == 2  # the two errored samples, nothing answered before
    record = json.loads((tmp_path / "metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert (record["status"], record["num_samples"], record["reused_samples"], record["num_errors"]) == (
        "complete",
        5,
        3,
        0,
    )
    whole = await _runner(await sim(), tmp_path / "whole", datasets=("gsm8k",)).run()
    assert [o.status for o in whole.outcomes] == ["complete"]
    reference = json.loads((tmp_path / "whole/metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert record["dataset_metrics"] == reference["dataset_metrics"]
    assert not (tmp_path / "cache/checkpoints/qwen2.5_8b_balanced_gsm8k.jsonl").exists()
