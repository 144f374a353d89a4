"""LivePerformanceMonitor in this process: a /metrics server on 127.0.0.1, windows, cleanup, the live line.

GPU readings through the stand-in driver are in test_monitor_stream.py (a child process, which is where
the stand-in library can be loaded).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind
from evalclient.engines import get_adapter
from evalclient.errors import EvalClientError
from evalclient.monitor import PERFORMANCE_FIELDS, LivePerformanceMonitor
from evalclient.monitor.aggregate import GPU_REPORT_FIELDS
from evalclient.monitor.nvml import probe_gpus
from evalclient.monitor.rows import ROW_COLUMNS
from evalclient.monitor.server_metrics import ServerMetricsScraper

VLLM_TEXT = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen3-8B"} 4.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-8B"} 0.25
# TYPE vllm:generation_tokens counter
vllm:generation_tokens_total{engine="0",model_name="Qwen/Qwen3-8B"} 1000.0
"""


@pytest.fixture
async def metrics_url() -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=VLLM_TEXT, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def leftovers() -> tuple[list[threading.Thread], list[asyncio.Task[object]]]:
    threads = [t for t in threading.enumerate() if t.name.startswith("evalclient-")]
    tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("evalclient-") and not t.done()]
    return threads, tasks


async def until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    async with asyncio.timeout(limit_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


async def more_samples(scraper: ServerMetricsScraper, n: int) -> None:
    wanted = len(scraper.samples) + n
    await until(lambda: len(scraper.samples) >= wanted)


def records(n: int) -> list[Completion]:
    return [
        Completion(
            str(i),
            RequestKind.CHAT,
            prompt_tokens=10,
            completion_tokens=5,
            latency_ms=100.0,
            ttft_ms=10.0,
            itl_ms=[9.0],
        )
        for i in range(n)
    ]


def monitor_for(
    url: str | None, session: aiohttp.ClientSession | None, **kw: object
) -> LivePerformanceMonitor:
    kw.setdefault("gpu_indices", [])
    return LivePerformanceMonitor(
        metric_names=get_adapter("vllm").metric_names,
        metrics_url=url,
        session=session,
        max_batch_total_tokens=None,
        interval_s=0.01,
        metrics_interval_s=0.01,
        **kw,  # type: ignore[arg-type]
    )


async def test_end_to_end_windows(metrics_url: str, session: aiohttp.ClientSession) -> None:
    monitor = monitor_for(metrics_url, session)
    await monitor.start()
    await monitor.start()
    assert monitor.running
    try:
        scraper = monitor._scraper
        assert scraper is not None
        for name in ("gsm8k", "mmlu"):
            with monitor.window(name):
                await more_samples(scraper, 3)
    finally:
        await monitor.stop()
    report = monitor.performance_metrics("gsm8k", records(4))
    m = report.metrics
    assert m["inference_batch_size"] == 4.0
    assert m["memory_efficiency"] == 0.25
    assert m["num_requests"] == 4
    assert m["window_s"] is not None
    assert m["throughput_tokens_per_second"] == 20 / m["window_s"]
    assert m["gpu_utilization_percent"] is None
    assert report.unavailable["gpu_utilization_percent"].startswith(
        ("no NVIDIA GPU visible", "no GPU assigned")
    )
    assert (
        report.unavailable["container_cpu_percent"]
        == "the server does not run in a container evalclient started"
    )
    assert set(report.to_dict()) == {*PERFORMANCE_FIELDS, "unavailable"}
    assert monitor.performance_metrics("mmlu", records(1)).metrics["num_requests"] == 1
    assert leftovers() == ([], [])


async def test_samples_rows(metrics_url: str, session: aiohttp.ClientSession) -> None:
    monitor = monitor_for(metrics_url, session)
    await monitor.start()
    try:
        with monitor.window("arc"):
            await until(lambda: len(monitor.samples_rows()) >= 10)
    finally:
        await monitor.stop()
    rows = monitor.samples_rows()
    assert all(tuple(row) == ROW_COLUMNS for row in rows)
    assert {row["source"] for row in rows} == {"server"}
    assert "arc" in {row["window"] for row in rows}
    assert [r["t_monotonic"] for r in rows] == sorted(r["t_monotonic"] for r in rows)
    server_row = rows[0]
    assert server_row["server_kv_cache_fraction"] == 0.25
    assert server_row["server_generation_tokens_total"] == 1000.0
    assert server_row["gpu"] is None
    assert server_row["gpu_power_w"] is None


async def test_live_line_shows_the_batch(metrics_url: str, session: aiohttp.ClientSession) -> None:
    monitor = monitor_for(metrics_url, session)
    assert monitor.live_line() is None
    await monitor.start()
    try:
        await until(lambda: monitor.live_line() is not None)
        assert monitor.live_line() == "batch 4"  # the token counter stands still: no rate until 1 s apart
    finally:
        await monitor.stop()


async def test_real_pynvml_without_gpu_gives_nulls_with_reasons() -> None:
    if probe_gpus().available:
        pytest.skip("this host has a GPU")
    monitor = LivePerformanceMonitor(
        metric_names=get_adapter("tgi").metric_names,
        metrics_url=None,
        session=None,
        gpu_indices=[0],
        max_batch_total_tokens=None,
        interval_s=0.01,
    )
    await monitor.start()
    with monitor.window("humaneval"):
        await asyncio.sleep(0.02)
    await monitor.stop()
    report = monitor.performance_metrics("humaneval", records(2))
    for name in GPU_REPORT_FIELDS:
        assert report.metrics[name] is None
        assert report.unavailable[name].startswith("no NVIDIA GPU visible: ")
    assert report.unavailable["inference_batch_size"] == "no /metrics URL for this server"
    assert report.unavailable["memory_efficiency"] == "no /metrics URL for this server"
    assert report.metrics["avg_latency_ms"] == 100.0
    assert monitor.status()["gpu_unavailable"].startswith("no NVIDIA GPU visible: ")
    assert leftovers() == ([], [])


async def test_failing_scrapes_are_reported(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/metrics"
    monitor = monitor_for(url, session)
    await monitor.start()
    with monitor.window("bfcl"):
        await until(lambda: monitor.status()["server_scrape_failures"] >= 2)
    await monitor.stop()
    report = monitor.performance_metrics("bfcl", [])
    assert report.unavailable["inference_batch_size"].startswith(
        "no successful /metrics scrape inside the window"
    )
    assert leftovers() == ([], [])


async def test_stop_after_failed_start(
    metrics_url: str, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_start(self: ServerMetricsScraper) -> None:
        raise RuntimeError("cannot schedule the scraper")

    monkeypatch.setattr(ServerMetricsScraper, "start", broken_start)
    monitor = monitor_for(metrics_url, session)
    with pytest.raises(RuntimeError, match="cannot schedule"):
        await monitor.start()
    await monitor.stop()
    await monitor.stop()
    assert leftovers() == ([], [])


class GatedContainer:
    """A container whose first stats call waits for the test (Docker being slow to answer)."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = threading.Event()

    def stats(self) -> dict[str, object]:
        self.gate.wait(10)
        return {}

    def pids(self) -> frozenset[int]:
        return frozenset()

    def oom_events(self, since_unix: float, until_unix: float) -> list[int]:
        return []


async def test_cancelled_start_leaves_nothing_behind(
    metrics_url: str, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    container = GatedContainer()
    monitor = monitor_for(metrics_url, session, container=container, samples_path=tmp_path / "m_p.csv")
    starting = asyncio.create_task(monitor.start())
    await until(lambda: monitor._containers is not None and monitor._scraper is not None)
    starting.cancel()
    asyncio.get_running_loop().call_later(0.05, container.gate.set)  # Docker answers a moment later
    with pytest.raises(asyncio.CancelledError):
        await starting
    await monitor.stop()
    assert leftovers() == ([], [])


async def test_stop_without_start_and_restart_refused() -> None:
    monitor = monitor_for(None, None)
    await monitor.stop()
    with pytest.raises(EvalClientError, match="stopped"):
        await monitor.start()
    assert not monitor.running


async def test_windows_are_named_and_unique() -> None:
    monitor = monitor_for(None, None, gpu_indices=[])
    await monitor.start()
    with monitor.window("a") as span:
        assert span.end is None
        open_report = monitor.performance_metrics("a", [])
        assert open_report.metrics["window_s"] is not None
    assert span.end is not None
    assert span.end >= span.start
    with pytest.raises(EvalClientError, match="already exists"), monitor.window("a"):
        pass
    with pytest.raises(EvalClientError, match="no monitor window named 'b'"):
        monitor.performance_metrics("b", [])
    await monitor.stop()
    report = monitor.performance_metrics("a", [])
    assert report.unavailable["gpu_utilization_percent"].startswith(
        ("no NVIDIA GPU visible", "no GPU assigned")
    )
    assert report.unavailable["inference_batch_size"] == "no /metrics URL for this server"


async def test_window_closed_by_an_exception_still_ends() -> None:
    monitor = monitor_for(None, None, gpu_indices=[])
    with pytest.raises(ValueError, match="boom"), monitor.window("x"):
        raise ValueError("boom")
    assert monitor.windows["x"].end is not None


def test_a_bad_interval_is_refused() -> None:
    with pytest.raises(EvalClientError, match="unknown engine"):
        LivePerformanceMonitor(
            metric_names=get_adapter("x").metric_names,
            metrics_url=None,
            session=None,
            gpu_indices=[],
            max_batch_total_tokens=None,
        )
    with pytest.raises(EvalClientError, match="interval"):
        LivePerformanceMonitor(
            metric_names=get_adapter("tgi").metric_names,
            metrics_url=None,
            session=None,
            gpu_indices=[],
            max_batch_total_tokens=None,
            interval_s=0,
        )
