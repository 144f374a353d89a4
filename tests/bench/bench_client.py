"""`make bench`: the client's throughput against the simulator, next to the simulator's known maximum.

Starts `python -m evalclient.sim` on a free loopback port with 64 batch slots and a 10 ms decode step (a known
maximum of 6,400 generated tokens/s), sends bounded batches of streamed chat requests at several
concurrencies, and prints requests/s, generated tokens/s and the share of that maximum the client reached:
the client should saturate the server once its concurrency covers the slots. Bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request

from evalclient.client import ChatRequest, Sampling, ServerClient
from evalclient.deploy.ports import PortLease

REQUESTS = 640
CONCURRENCIES = (1, 8, 32, 64, 128)


def _start_sim(port: int) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "evalclient.sim",
        "--port",
        str(port),
        "--profile",
        "fast",
        "--max-concurrent-requests",
        "256",
        "--max-batch-size",
        "64",
        "--decode-step-ms",
        "10",
    ]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _info(port: int) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/info", timeout=2) as response:
                data: dict[str, object] = json.load(response)
                return data
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def _measure(port: int, concurrency: int) -> tuple[float, float, int]:
    requests = [
        ChatRequest(str(i), ({"role": "user", "content": f"bench question {i}"},), Sampling(max_tokens=32))
        for i in range(REQUESTS)
    ]
    url = f"http://127.0.0.1:{port}"
    async with ServerClient.for_engine("tgi", url, concurrency=concurrency, max_retries=2) as client:
        started = time.monotonic()
        records = await client.run(requests)
        wall = time.monotonic() - started
    tokens = sum(r.completion_tokens or 0 for r in records)
    errors = sum(1 for r in records if not r.ok)
    return len(records) / wall, tokens / wall, errors


def main() -> None:
    with PortLease() as lease:
        _bench(lease.port)


def _bench(port: int) -> None:
    proc = _start_sim(port)
    try:
        info = _info(port)
        sim = info.get("simulator", {})
        assert isinstance(sim, dict)
        peak = float(sim.get("max_tokens_per_second", 0.0))
        print(f"simulator: {sim}")
        print(f"{'concurrency':>11} {'req/s':>9} {'tok/s':>9} {'of max':>7} {'errors':>6}")
        for concurrency in CONCURRENCIES:
            rps, tps, errors = asyncio.run(_measure(port, concurrency))
            share = f"{tps / peak:.0%}" if peak else "n/a"
            print(f"{concurrency:>11} {rps:>9.1f} {tps:>9.0f} {share:>7} {errors:>6}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
