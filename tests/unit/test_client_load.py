"""How hard the client drives a server: back-off under overload, clean cancellation, and `evalclient load`
on a server whose latencies are scripted."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from evalclient.client import ChatRequest, Sampling, ServerClient
from evalclient.client.limit import AdaptiveLimit
from evalclient.engines import get_adapter
from evalclient.load.report import write
from evalclient.load.session import LoadSettings, parse_slo, run_load
from evalclient.load.workload import fixed_workload
from evalclient.sim.rules import RuleSet

ServeApp = Callable[[web.Application], Coroutine[Any, Any, str]]
StartSim = Callable[..., Coroutine[Any, Any, str]]


def _request(i: int) -> ChatRequest:
    return ChatRequest(str(i), ({"role": "user", "content": f"q {i}"},), Sampling(max_tokens=16))


async def test_overload_makes_the_client_back_off_then_every_request_succeeds(start_sim: StartSim) -> None:
    url = await start_sim(RuleSet(), max_concurrent_requests=2, decode_step_ms=5.0)
    tgi = get_adapter("tgi").protocols()
    async with ServerClient(url, protocols=tgi, concurrency=8, retry_wait_s=0.01, max_retries=30) as client:
        records = await client.run([_request(i) for i in range(24)])
        lowest = client.limit.lowest
    assert all(r.ok for r in records), [r.error for r in records if not r.ok]
    assert 1 <= lowest < 8  # cut by 3/4 per overload answer, from 8


async def test_adaptive_limit_arithmetic() -> None:
    limit = AdaptiveLimit(8)
    limit.overloaded()
    assert (limit.limit, limit.lowest) == (6, 6)
    limit.overloaded()
    limit.overloaded()
    assert limit.limit == 3
    for _ in range(3):  # a run of `limit` successes raises it by one
        limit.succeeded()
    assert limit.limit == 4
    for _ in range(100):
        limit.succeeded()
    assert (limit.limit, limit.lowest) == (8, 3)  # never above the ceiling


async def test_cancellation_leaves_no_task_or_connection(start_sim: StartSim) -> None:
    url = await start_sim(RuleSet(), decode_step_ms=50.0)
    async with ServerClient(url, protocols=get_adapter("tgi").protocols(), concurrency=4) as client:
        work = asyncio.create_task(client.run([_request(i) for i in range(40)]))
        await asyncio.sleep(0.5)
        assert client.limit.in_flight == 4
        work.cancel()
        with pytest.raises(asyncio.CancelledError):
            await work
        await asyncio.sleep(0)
        assert client.limit.in_flight == 0
        connector = client.session.connector
        assert connector is not None
        assert not connector._acquired  # every connection handed back (closed mid-stream)
    others = [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and "evalclient" in repr(t.get_coro())
    ]
    assert others == []


def _scripted_server() -> web.Application:
    """TTFT of 20, 40, 60, 80 or 100 ms by the request's number (mod 5), then 3 more tokens 10 ms apart."""

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        number = int(re.match(r"(\d+):", body["messages"][0]["content"]).group(1))  # type: ignore[union-attr]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await asyncio.sleep(0.02 * (number % 5 + 1))
        for i in range(4):
            if i:
                await asyncio.sleep(0.01)
            event = {"choices": [{"index": 0, "delta": {"content": f" t{i}"}, "finish_reason": None}]}
            await response.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        usage = {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4}}
        await response.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


async def test_load_percentiles_on_a_scripted_server(serve_app: ServeApp, tmp_path: Path) -> None:
    url = await serve_app(_scripted_server())
    workload = fixed_workload(8, 4, ignore_eos=True)  # prompts "0: …" … "63: …": TTFT cycles 20…100 ms
    settings = LoadSettings(concurrencies=[1], requests=50, warmup=0, slo=parse_slo("ttft_ms=70"))
    [row], header = await run_load(url, get_adapter("vllm"), "m", workload, settings, default=1)
    assert (row["requests"], row["errors"], row["concurrency"]) == (50, 0, 1)
    # ten requests each at 20, 40, 60, 80 and 100 ms; linear interpolation: p50 = 60, p90 = p99 = 100
    assert row["ttft_ms_p50"] == pytest.approx(60, abs=12)
    assert row["ttft_ms_p90"] == pytest.approx(100, abs=12)
    assert row["itl_ms_p50"] == pytest.approx(10, abs=8)
    assert row["e2e_ms_p50"] == pytest.approx(90, abs=15)
    assert row["goodput_share"] == pytest.approx(30 / 50)  # 20, 40 and 60 ms meet the 70 ms target
    assert row["mean_output_tokens"] == 4
    assert header["output_length"] == "fixed (ignore_eos)"
    plot = write(tmp_path / "load.json", [row], header)
    assert json.loads((tmp_path / "load.json").read_text())["steps"][0]["requests"] == 50
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_slo_parsing_says_what_is_wrong() -> None:
    from evalclient.errors import UsageError

    assert parse_slo("ttft_ms=500, itl_ms=50") == {"ttft_ms": 500.0, "itl_ms": 50.0}
    with pytest.raises(UsageError, match="give KEY=MS with KEY one of ttft_ms, itl_ms, e2e_ms"):
        parse_slo("latency=5")
