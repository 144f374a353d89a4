"""Unit-tier fixtures: the real simulator app served in-process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from evalclient.sim import create_app
from evalclient.sim.config import SimConfig
from evalclient.sim.rules import RuleSet

StartSim = Callable[..., Coroutine[Any, Any, str]]


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """`await start_sim(rules, model_id=..., **SimConfig fields)` → base URL of a `fast`-profile simulator."""
    servers: list[TestServer] = []

    async def start(rules: RuleSet, **overrides: Any) -> str:
        server = TestServer(create_app(SimConfig.for_profile("fast", **overrides), rules), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        await server.close()
