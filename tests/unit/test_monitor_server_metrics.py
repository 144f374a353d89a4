"""Engine metric names, reading a scrape into a sample, and the scraper against a tiny server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from evalclient.engines import get_adapter
from evalclient.monitor.prometheus import parse_exposition
from evalclient.monitor.server_metrics import ServerMetricsScraper, sample_from_exposition
from evalclient.sim.rules import RuleSet

TGI = """\
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 6
# TYPE tgi_batch_current_max_tokens gauge
tgi_batch_current_max_tokens 4000
# TYPE tgi_queue_size gauge
tgi_queue_size 2
# TYPE tgi_request_input_length histogram
tgi_request_input_length_bucket{le="+Inf"} 10
tgi_request_input_length_sum 1234
tgi_request_input_length_count 10
# TYPE tgi_request_generated_tokens histogram
tgi_request_generated_tokens_bucket{le="+Inf"} 10
tgi_request_generated_tokens_sum 560
tgi_request_generated_tokens_count 10
"""

VLLM_TWO_ENGINES = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
vllm:num_requests_running{engine="1",model_name="m"} 5.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.2
vllm:gpu_cache_usage_perc{engine="1",model_name="m"} 0.6
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="m"} 100.0
vllm:prompt_tokens_total{engine="1",model_name="m"} 50.0
"""

SGLANG = """\
# HELP sglang:num_running_reqs The number of running requests.
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="Qwen/Qwen3-8B",engine_type="unified",tp_rank="0"} 9.0
# HELP sglang:token_usage The token usage.
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="Qwen/Qwen3-8B",engine_type="unified",tp_rank="0"} 0.28
# HELP sglang:cache_hit_rate The prefix cache hit rate.
# TYPE sglang:cache_hit_rate gauge
sglang:cache_hit_rate{model_name="Qwen/Qwen3-8B",engine_type="unified",tp_rank="0"} NaN
"""


def test_metric_names_per_engine() -> None:
    tgi, vllm, sglang = (get_adapter(kind).metric_names for kind in ("tgi", "vllm", "sglang"))
    assert tgi.running_batch == ("tgi_batch_current_size",)
    assert tgi.kv_cache_tokens == ("tgi_batch_current_max_tokens",)
    assert tgi.kv_budget_tokens == ("tgi_batch_max_total_tokens",)
    assert tgi.queue_size == ("tgi_queue_size",)
    assert vllm.running_batch == ("vllm:num_requests_running",)
    assert vllm.kv_cache_fraction == ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
    assert sglang.running_batch == ("sglang:num_running_reqs",)
    assert sglang.kv_cache_fraction == ("sglang:token_usage",)


def test_tgi_kv_tokens_divided_by_max_batch_total_tokens() -> None:
    sample = sample_from_exposition(1.0, parse_exposition(TGI), get_adapter("tgi").metric_names, 16000)
    assert sample.running_batch == 6.0
    assert sample.queue_size == 2.0
    assert sample.kv_cache_tokens == 4000.0
    assert sample.kv_cache_fraction == 0.25
    assert (sample.prompt_tokens_total, sample.generation_tokens_total) == (1234.0, 560.0)


def test_tgi_budget_gauge_comes_before_the_budget_given() -> None:
    text = TGI + "# TYPE tgi_batch_max_total_tokens gauge\ntgi_batch_max_total_tokens 20000\n"
    for given in (16000, None):  # from the startup log or the preset; or none at all
        sample = sample_from_exposition(1.0, parse_exposition(text), get_adapter("tgi").metric_names, given)
        assert (sample.kv_budget_tokens, sample.kv_cache_fraction) == (20000.0, 0.2)
    without = sample_from_exposition(1.0, parse_exposition(TGI), get_adapter("tgi").metric_names, 16000)
    assert without.kv_budget_tokens == 16000.0


def test_vllm_current_cache_name_first() -> None:
    text = VLLM_TWO_ENGINES.replace("gpu_cache_usage_perc", "kv_cache_usage_perc") + (
        'vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.9\n'  # a server exporting both
    )
    sample = sample_from_exposition(1.0, parse_exposition(text), get_adapter("vllm").metric_names, None)
    assert sample.kv_cache_fraction == pytest.approx(0.4)


def test_tgi_without_max_batch_total_tokens_keeps_tokens_only() -> None:
    sample = sample_from_exposition(1.0, parse_exposition(TGI), get_adapter("tgi").metric_names, None)
    assert sample.kv_cache_tokens == 4000.0
    assert sample.kv_cache_fraction is None


def test_vllm_old_cache_name_and_several_engines() -> None:
    sample = sample_from_exposition(
        1.0, parse_exposition(VLLM_TWO_ENGINES), get_adapter("vllm").metric_names, None
    )
    assert sample.running_batch == 8.0  # summed over engines
    assert sample.kv_cache_fraction == pytest.approx(0.4)  # averaged over engines
    assert sample.prompt_tokens_total == 150.0
    assert sample.queue_size is None


def test_sglang_sample() -> None:
    sample = sample_from_exposition(1.0, parse_exposition(SGLANG), get_adapter("sglang").metric_names, None)
    assert (sample.running_batch, sample.kv_cache_fraction) == (9.0, 0.28)


class MetricsServer:
    """Serves exposition text at /metrics; `status` and `body` can change between scrapes."""

    def __init__(self) -> None:
        self.body = TGI
        self.status = 200
        self.hits = 0
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def handler(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(text=self.body, status=self.status, content_type="text/plain")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self.handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"


@pytest.fixture
async def server() -> AsyncIterator[MetricsServer]:
    srv = MetricsServer()
    await srv.start()
    yield srv
    assert srv.runner is not None
    await srv.runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    async with asyncio.timeout(limit_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


async def test_scrape_once(server: MetricsServer, session: aiohttp.ClientSession) -> None:
    scraper = ServerMetricsScraper(
        session, server.url, get_adapter("tgi").metric_names, max_batch_total_tokens=8000
    )
    sample = await scraper.scrape_once()
    assert sample is not None
    assert sample.kv_cache_fraction == 0.5
    assert scraper.samples.snapshot() == [sample]
    assert (scraper.scrapes, scraper.failures) == (1, 0)


async def test_failing_scrape_is_counted_not_raised(
    server: MetricsServer, session: aiohttp.ClientSession
) -> None:
    scraper = ServerMetricsScraper(session, server.url, get_adapter("tgi").metric_names)
    server.status = 503
    assert await scraper.scrape_once() is None
    assert scraper.failures == 1
    assert scraper.last_error == "HTTP 503 Service Unavailable"
    server.status = 200
    assert await scraper.scrape_once() is not None
    assert (scraper.scrapes, scraper.failures, len(scraper.samples)) == (2, 1, 1)


async def test_connection_refused_is_counted(session: aiohttp.ClientSession) -> None:
    scraper = ServerMetricsScraper(
        session, f"http://127.0.0.1:{free_port()}/metrics", get_adapter("vllm").metric_names
    )
    assert await scraper.scrape_once() is None
    assert scraper.failures == 1
    assert scraper.last_error is not None
    assert scraper.last_error.startswith("ClientConnectorError")


async def test_loop_samples_on_the_given_session_and_stops_cleanly(
    server: MetricsServer, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_new_sessions(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the scraper must reuse the caller's session")

    monkeypatch.setattr(aiohttp, "ClientSession", no_new_sessions)
    scraper = ServerMetricsScraper(session, server.url, get_adapter("tgi").metric_names, interval_s=0.01)
    scraper.start()
    scraper.start()
    await until(lambda: len(scraper.samples) >= 2)
    server.status = 500
    await until(lambda: scraper.failures >= 2)
    server.status = 200
    await until(lambda: len(scraper.samples) >= 4)
    await scraper.stop()
    await scraper.stop()
    assert scraper.task is not None
    assert scraper.task.done()
    times = [s.t for s in scraper.samples]
    assert times == sorted(times)
    assert server.hits == scraper.scrapes


async def test_stop_propagates_the_callers_cancellation(
    server: MetricsServer, session: aiohttp.ClientSession
) -> None:
    scraper = ServerMetricsScraper(session, server.url, get_adapter("tgi").metric_names, interval_s=0.01)
    scraper.start()

    async def stopper() -> None:
        await scraper.stop()

    outer = asyncio.create_task(stopper())
    await asyncio.sleep(0)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    await scraper.stop()
    assert scraper.task is not None
    assert scraper.task.done()


def test_field_reasons() -> None:
    scraper = ServerMetricsScraper(None, "http://x/metrics", get_adapter("tgi").metric_names)  # type: ignore[arg-type]
    reasons = scraper.field_reasons()
    assert reasons["kv_cache_fraction"] == (
        "tgi reports KV-cache use in tokens (tgi_batch_current_max_tokens); it exports no"
        " tgi_batch_max_total_tokens, and its KV budget (max batch total tokens) is unknown"
    )
    assert (
        reasons["running_batch"]
        == "server exposes no running-batch metric (looked for tgi_batch_current_size)"
    )
    vllm = ServerMetricsScraper(None, "http://x/metrics", get_adapter("vllm").metric_names)  # type: ignore[arg-type]
    assert vllm.field_reasons()["kv_cache_fraction"] == (
        "server exposes no KV-cache metric (looked for vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc)"
    )


async def test_the_simulator_exports_tgis_kv_budget_gauge(
    start_sim: Callable[..., Any], session: aiohttp.ClientSession
) -> None:
    base = await start_sim(RuleSet(), max_batch_total_tokens=50_000)
    scraper = ServerMetricsScraper(session, base + "/metrics", get_adapter("tgi").metric_names)
    sample = await scraper.scrape_once()
    assert sample is not None
    assert (sample.kv_budget_tokens, sample.kv_cache_tokens, sample.kv_cache_fraction) == (50_000.0, 0.0, 0.0)
