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


@pytest.fixture(scope="session")
def built_hub() -> Any:
    """Every default dataset's repository on a stand-in hub (tests/hub_standin), built once."""
    from hub_standin import build

    return build()


@pytest.fixture
def hub(built_hub: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh copy of the stand-in hub, served; HF_ENDPOINT (and the raw GitHub mirror) point at it and the
    hub may be asked (the tests' HF_HUB_OFFLINE lifted)."""
    import huggingface_hub.constants

    standin = built_hub.copy()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with standin.serving() as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        monkeypatch.setenv("EVALCLIENT_GITHUB_RAW", f"{url}/raw")
        standin.url = url
        yield standin
