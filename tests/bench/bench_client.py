"""`make bench`: this client against a raw pooled aiohttp loop and TGI's own client, on one stand-in server;
then `evalclient load` at its default concurrency against a simulator of known maximum throughput.

The server runs on one core and the client on the other (where there are two). Each measurement sends
3,000 requests at concurrency 64 to tests/bench/standin_server.py (16 tokens per answer, no think time):
streamed chat and non-streamed /generate. The client's CPU time per streamed token is measured over its
streamed run. `text-generation` is installed into .bench/deps for this benchmark only (never a dependency);
it is skipped, saying so, where it cannot be. The table is printed and written to .bench/bench_client.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from evalclient.client import ChatRequest, GenerateRequest, Sampling, ServerClient
from evalclient.deploy.ports import PortLease
from evalclient.engines import get_adapter
from evalclient.load.session import LoadSettings, run_load
from evalclient.load.workload import fixed_workload

ROOT = Path(__file__).resolve().parents[2]
REQUESTS, CONCURRENCY, TOKENS = 3000, 64, 16
SERVER_CPU, CLIENT_CPU = 0, 1
CHAT_BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 16}
GEN_BODY = {"inputs": "hi", "parameters": {"max_new_tokens": 16, "details": True}}


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu})


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            request = urllib.request.Request(url, data=b"{}", method="POST")
            urllib.request.urlopen(request, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def _timed(send: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(requests/s, client CPU seconds) for REQUESTS sends at CONCURRENCY."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with limit:
            await send()

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return REQUESTS / (time.perf_counter() - started), time.process_time() - cpu


async def raw_stream(url: str) -> tuple[float, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY + 4)) as session:

        async def send() -> None:
            async with session.post(url + "/v1/chat/completions", json=CHAT_BODY) as response:
                async for line in response.content:
                    if line.startswith(b"data: ") and line[6:].strip() != b"[DONE]":
                        choices = json.loads(line[6:]).get("choices")
                        if choices:
                            choices[0]["delta"].get("content")

        return await _timed(send)


async def raw_generate(url: str) -> tuple[float, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY + 4)) as session:

        async def send() -> None:
            async with session.post(url + "/generate", json=GEN_BODY) as response:
                await response.json()

        return await _timed(send)


async def ours(url: str, streamed: bool) -> tuple[float, float]:
    async with ServerClient(url, protocols=get_adapter("tgi").protocols(), concurrency=CONCURRENCY) as client:
        sampling = Sampling(max_tokens=TOKENS)
        made = iter(range(REQUESTS))

        async def send() -> None:
            i = str(next(made))
            if streamed:
                record = await client.send(ChatRequest(i, ({"role": "user", "content": "hi"},), sampling))
            else:
                record = await client.send(GenerateRequest(i, "hi", sampling))
            assert record.ok, record.error
            assert record.completion_tokens == TOKENS
            assert record.ttft_ms is not None
            assert record.latency_ms is not None

        return await _timed(send)


async def tgi_client(url: str, streamed: bool) -> tuple[float, float] | None:
    sys.path.append(str(ROOT / ".bench" / "deps"))
    try:
        from text_generation import AsyncClient
    except ImportError:
        return None
    client = AsyncClient(url, timeout=60)

    async def send() -> None:
        if streamed:
            async for _ in client.generate_stream("hi", max_new_tokens=TOKENS):
                pass
        else:
            await client.generate("hi", max_new_tokens=TOKENS)

    return await _timed(send)


async def simulator_share(port: int) -> dict[str, Any]:
    """`evalclient load` at its default concurrency against a simulator of 64 slots, 10 ms per decode step."""
    url = f"http://127.0.0.1:{port}"
    workload = fixed_workload(16, 64, ignore_eos=False)
    settings = LoadSettings(requests=1500, warmup=100)
    info = await asyncio.to_thread(
        lambda: json.loads(urllib.request.urlopen(url + "/info", timeout=5).read())
    )
    peak = float(info["simulator"]["max_tokens_per_second"])
    default = get_adapter("tgi").server_concurrency(info, _preset())
    [row], _ = await run_load(url, get_adapter("tgi"), "m", workload, settings, default)
    return {
        "default_concurrency": default,
        "output_tokens_per_s": row["output_tokens_per_s"],
        "max_tokens_per_s": peak,
    }


def _preset() -> Any:
    from evalclient.config import load_config

    return load_config(ROOT / "presets").preset("balanced")


def _serve(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    results: dict[str, Any] = {"requests": REQUESTS, "concurrency": CONCURRENCY, "tokens_per_answer": TOKENS}
    with PortLease() as lease:
        server = _serve(
            [sys.executable, str(ROOT / "tests/bench/standin_server.py"), str(lease.port), str(SERVER_CPU)]
        )
        try:
            url = f"http://127.0.0.1:{lease.port}"
            _wait_ready(url + "/generate")
            _pin(CLIENT_CPU)
            for name, run in (
                ("raw aiohttp loop, streamed chat", lambda: raw_stream(url)),
                ("evalclient, streamed chat", lambda: ours(url, True)),
                ("text-generation 0.7.0, generate_stream", lambda: tgi_client(url, True)),
                ("raw aiohttp loop, /generate", lambda: raw_generate(url)),
                ("evalclient, /generate", lambda: ours(url, False)),
                ("text-generation 0.7.0, generate", lambda: tgi_client(url, False)),
            ):
                measured = asyncio.run(run())  # type: ignore[arg-type]
                results[name] = (
                    None if measured is None else {"requests_per_s": measured[0], "cpu_s": measured[1]}
                )
        finally:
            server.terminate()
            server.wait()
    with PortLease() as lease:
        sim = _serve(
            [sys.executable, "-m", "evalclient.sim", "--port", str(lease.port), "--profile", "fast",
             "--max-concurrent-requests", "256", "--max-batch-size", "64", "--decode-step-ms", "10"]
        )  # fmt: skip
        try:
            _wait_ready(f"http://127.0.0.1:{lease.port}/generate")
            results["simulator"] = asyncio.run(simulator_share(lease.port))
        finally:
            sim.terminate()
            sim.wait()
    _report(results)


def _report(results: dict[str, Any]) -> None:
    def rps(name: str) -> float | None:
        entry = results.get(name)
        return None if entry is None else float(entry["requests_per_s"])

    print(f"{'client, 3,000 requests at concurrency 64':<42} {'req/s':>9} {'vs raw':>7}")
    for raw, others in (
        (
            "raw aiohttp loop, streamed chat",
            ("evalclient, streamed chat", "text-generation 0.7.0, generate_stream"),
        ),
        ("raw aiohttp loop, /generate", ("evalclient, /generate", "text-generation 0.7.0, generate")),
    ):
        base = rps(raw)
        for name in (raw, *others):
            value = rps(name)
            shown = "n/a (not installed)" if value is None else f"{value:9.0f}"
            ratio = "" if value is None or base is None else f"{value / base:6.2f}x"
            print(f"{name:<42} {shown:>9} {ratio:>7}")
    streamed = results["evalclient, streamed chat"]
    per_token = streamed["cpu_s"] / (REQUESTS * TOKENS) * 1e6
    results["evalclient_cpu_us_per_streamed_token"] = per_token
    print(f"evalclient CPU per streamed token: {per_token:.1f} µs")
    sim = results["simulator"]
    share = sim["output_tokens_per_s"] / sim["max_tokens_per_s"]
    results["simulator"]["share_of_max"] = share
    print(
        f"evalclient load at its default concurrency ({sim['default_concurrency']}): "
        f"{sim['output_tokens_per_s']:.0f} of the simulator's {sim['max_tokens_per_s']:.0f} tokens/s "
        f"({share:.0%})"
    )
    target = ROOT / ".bench" / "bench_client.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures in {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
