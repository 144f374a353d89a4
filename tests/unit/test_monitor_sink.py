"""The sample log's positions, the file writer's hold-back, memory released once samples are on disk, and
the live line's format."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from evalclient.engines import get_adapter
from evalclient.monitor import LivePerformanceMonitor
from evalclient.monitor.live_line import format_live_line, tokens_per_second
from evalclient.monitor.nvml import GpuSample
from evalclient.monitor.rows import ROW_COLUMNS, Window
from evalclient.monitor.samplelog import SampleLog
from evalclient.monitor.server_metrics import ServerSample
from evalclient.monitor.sink import SampleFileWriter


def server(t: float, batch: float | None = 3.0, generated: float | None = None) -> ServerSample:
    return ServerSample(t, batch, 0.0, 0.5, None, None, generated)


def gpu(t: float, index: int, util: float | None = 87.0, power: float | None = 412.4) -> GpuSample:
    return GpuSample(t, index, util, 61.24, 80.0, 55.0, power, None)


def test_sample_log_positions_survive_dropping() -> None:
    log: SampleLog[ServerSample] = SampleLog()
    log.extend(server(float(t)) for t in range(10))
    first, position = log.since(0, until_t=4.0)
    assert ([s.t for s in first], position) == ([0.0, 1.0, 2.0, 3.0, 4.0], 5)
    assert log.drop_before(7.0, position) == 5  # only what the reader has taken
    assert (len(log), log.count) == (5, 10)
    rest, position = log.since(position)
    assert ([s.t for s in rest], position) == ([5.0, 6.0, 7.0, 8.0, 9.0], 10)
    assert [s.t for s in log.between(6.0, 8.0)] == [6.0, 7.0, 8.0]
    assert [s.t for s in log.latest(2)] == [8.0, 9.0]


def test_writer_holds_back_and_labels_windows(tmp_path: Path) -> None:
    gpus: SampleLog[GpuSample] = SampleLog()
    scrapes: SampleLog[ServerSample] = SampleLog()
    now = time.monotonic()
    gpus.extend([gpu(now - 3.0, 0), gpu(now - 2.0, 0), gpu(now + 60, 0)])
    scrapes.extend([server(now - 2.5), server(now + 60)])
    windows = [Window("gsm8k", now - 2.2, now - 1.0)]
    path = tmp_path / "perf" / "m_p.csv"
    writer = SampleFileWriter(
        path, [gpus, scrapes], lambda: windows, (now, 1_700_000_000.0), run_id="r", flush_interval_s=0.01
    )
    writer.start()
    deadline = time.monotonic() + 10
    while writer.rows_written < 3:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["source"], r["window"]) for r in rows] == [("gpu", ""), ("server", ""), ("gpu", "gsm8k")]
    assert rows[0]["unix_time"] == str(1_700_000_000.0 - 3.0)
    assert writer.positions == [2, 1]  # the samples a minute ahead wait for their time
    writer.request_stop()
    assert writer.thread is not None
    writer.thread.join(5)
    with path.open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 5  # the final flush takes everything
    assert path.read_text().splitlines()[0] == ",".join(ROW_COLUMNS)


def test_live_line() -> None:
    line = format_live_line([gpu(1.0, 1, util=85.0, power=398.0), gpu(1.0, 0)], [])
    assert line == "GPU0 87% 61.2/80.0 GB 412 W · GPU1 85% 61.2/80.0 GB 398 W"
    assert format_live_line([gpu(1.0, 0, util=None, power=None)], []) == "GPU0 61.2/80.0 GB"
    scrapes = [server(10.0, generated=1000.0), server(10.5, generated=2234.0), server(11.5, 12.0, 3468.0)]
    assert (
        tokens_per_second(scrapes) == 1234.0
    )  # from the latest scrape at least 1 s back: 1234 tokens in 1 s
    assert format_live_line([], scrapes) == "batch 12 · 1,234 tok/s"
    assert format_live_line([], [server(1.0, None)]) is None
    assert tokens_per_second([server(1.0, generated=500.0), server(2.5, generated=10.0)]) is None  # restarted


@pytest.fixture
async def metrics_url() -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="vllm:num_requests_running 2\n", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
    await runner.cleanup()


async def test_memory_keeps_only_what_is_not_on_disk_or_still_needed(
    metrics_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "m_p.csv"
    async with aiohttp.ClientSession() as session:
        monitor = LivePerformanceMonitor(
            metric_names=get_adapter("vllm").metric_names,
            metrics_url=metrics_url,
            session=session,
            gpu_indices=[],
            max_batch_total_tokens=None,
            metrics_interval_s=0.01,
            samples_path=path,
        )
        await monitor.start()
        try:
            for name in ("gsm8k", "mmlu", "arc"):
                with monitor.window(name):
                    await asyncio.sleep(0.7)
        finally:
            await monitor.stop()
    with path.open(newline="") as f:
        on_disk = list(csv.DictReader(f))
    held = monitor.samples_rows()
    assert len(on_disk) == monitor.status()["server_samples"]
    assert len(held) < len(on_disk)
    gsm8k = monitor.windows["gsm8k"]
    assert min(r["t_monotonic"] for r in held) > gsm8k.start  # gsm8k's first samples were released
    assert {"gsm8k", "mmlu", "arc"} <= {r["window"] for r in on_disk}
    assert monitor.performance_metrics("mmlu", []).metrics["inference_batch_size"] == 2.0
