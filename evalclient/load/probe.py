"""Running the load steps: a fixed number of requests in flight, or Poisson arrivals at a rate.

A step first sends its warm-up requests (at the same setting, not counted), then measures until it has sent
`requests` requests or `duration_s` has passed, whichever comes first, and waits for those in flight.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest
from evalclient.client.server import ServerClient
from evalclient.load.stats import Step


async def concurrency_step(
    client: ServerClient,
    requests: Iterator[ChatRequest],
    concurrency: int,
    *,
    count: int,
    duration_s: float | None,
    warmup: int,
) -> Step:
    """`concurrency` workers, each sending its next request as soon as the last one is answered."""
    if warmup:
        await _closed_loop(client, requests, concurrency, warmup, None)
    started = time.monotonic()
    done = await _closed_loop(client, requests, concurrency, count, duration_s)
    return Step(f"concurrency {concurrency}", concurrency, None, done, time.monotonic() - started)


async def _closed_loop(
    client: ServerClient,
    requests: Iterator[ChatRequest],
    concurrency: int,
    count: int,
    duration_s: float | None,
) -> list[Completion]:
    deadline = None if duration_s is None else time.monotonic() + duration_s
    done: list[Completion] = []
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while sent < count and (deadline is None or time.monotonic() < deadline):
            sent += 1
            done.append(await client.send(next(requests)))

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, count)):
            group.create_task(worker())
    return done


async def rate_step(
    client: ServerClient,
    requests: Iterator[ChatRequest],
    rate: float,
    *,
    count: int,
    duration_s: float | None,
    warmup: int,
    seed: int = 0,
) -> Step:
    """Requests launched at exponentially distributed intervals (Poisson arrivals of `rate` per second)."""
    arrivals = random.Random(seed)
    if warmup:
        await _open_loop(client, requests, rate, warmup, None, arrivals)
    started = time.monotonic()
    done = await _open_loop(client, requests, rate, count, duration_s, arrivals)
    return Step(f"rate {rate:g}/s", None, rate, done, time.monotonic() - started)


async def _open_loop(
    client: ServerClient,
    requests: Iterator[ChatRequest],
    rate: float,
    count: int,
    duration_s: float | None,
    arrivals: random.Random,
) -> list[Completion]:
    deadline = None if duration_s is None else time.monotonic() + duration_s
    done: list[Completion] = []

    async def one(request: ChatRequest) -> None:
        done.append(await client.send(request))

    async with asyncio.TaskGroup() as group:
        for _ in range(count):
            if deadline is not None and time.monotonic() >= deadline:
                break
            group.create_task(one(next(requests)))
            await asyncio.sleep(arrivals.expovariate(rate))
    return done
