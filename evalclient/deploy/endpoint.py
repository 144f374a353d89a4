"""A server that is already running (`--endpoint`): checked once before use, watched through the client.

Nothing is started or removed. While it serves, the client's health gate watches it: a run of failed
connections triggers health checks, and a server that fails them is marked lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from evalclient.deploy.deployment import Deployment, SpecFor, Stage
from evalclient.errors import EngineError
from evalclient.planning.plan import DeploymentPlan
from evalclient.planning.slots import Slot


class EndpointProvider:
    """Every deployment is the one server at `url`."""

    def __init__(
        self, url: str, health_path: str = "/health", info_paths: tuple[str, ...] = ("/info", "/v1/models")
    ) -> None:
        self.url = url.rstrip("/")
        self.health_path = health_path
        self.info_paths = info_paths

    def prepare(self) -> None:
        return None

    def image_id(self, image: str) -> str | None:
        return None

    @asynccontextmanager
    async def deploy(
        self,
        plan: DeploymentPlan,
        spec_for: SpecFor,
        *,
        run_id: str,
        log_path: Path,
        slot: Slot | None = None,
        stage: Stage | None = None,
    ) -> AsyncIterator[Deployment]:
        if not await answers(self.url + self.health_path):
            raise EngineError(
                f"the endpoint {self.url} does not answer {self.health_path}",
                "check that the server runs and the URL is right",
            )
        yield Deployment(self.url, info=await fetch_info(self.url, self.info_paths))


async def answers(url: str) -> bool:
    """Whether GET `url` answers 200 within 10 s."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(url) as response,
        ):
            return response.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def fetch_info(base_url: str, paths: tuple[str, ...] = ("/info", "/v1/models")) -> dict[str, Any]:
    """The server's self-description from the first of its engine's info endpoints that answers (TGI /info,
    SGLang /server_info then the deprecated /get_server_info, vLLM /v1/models); {} if none does."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for path in paths:
            try:
                async with session.get(base_url + path) as response:
                    if response.status == 200:
                        data = await response.json(content_type=None)
                        return data if isinstance(data, dict) else {"data": data}
            except (TimeoutError, aiohttp.ClientError, ValueError):
                continue
    return {}
