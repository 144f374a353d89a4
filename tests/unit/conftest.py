"""Unit-tier fixtures: the real simulator app served in-process on 127.0.0.1; processes reaped after use."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from evalclient.sim import create_app
from evalclient.sim.config import SimConfig
from evalclient.sim.rules import RuleSet

StartSim = Callable[..., Coroutine[Any, Any, str]]
ServeApp = Callable[[web.Application], Coroutine[Any, Any, str]]


@pytest.fixture
async def serve_app() -> AsyncIterator[ServeApp]:
    """`await serve_app(app)` → base URL of an aiohttp app served on 127.0.0.1 for the test."""
    servers: list[TestServer] = []

    async def serve(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield serve
    for server in servers:
        await server.close()


@pytest.fixture
def start_sim(serve_app: ServeApp) -> StartSim:
    """`await start_sim(rules, model_id=..., **SimConfig fields)` → base URL of a `fast`-profile simulator."""

    async def start(rules: RuleSet, **overrides: Any) -> str:
        return await serve_app(create_app(SimConfig.for_profile("fast", **overrides), rules))

    return start


@pytest.fixture
def launch() -> Iterator[list[subprocess.Popen[str]]]:
    """A list to append started processes to; each is killed (if still running) and reaped after the test."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
