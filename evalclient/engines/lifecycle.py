"""One deployment's life: start the container, wait until it serves, and always stop it (even on cancel)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from evalclient.engines.base import LaunchSpec
from evalclient.engines.docker import ContainerEngine, RunningContainer
from evalclient.errors import EngineError

log = logging.getLogger(__name__)
_POLL_S = 0.5


@dataclass
class Deployment:
    """A server ready to take requests: a container we started, or an endpoint that was already up."""

    base_url: str
    container: RunningContainer | None = None
    ready_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """How this server was started, for the metrics files."""
        record: dict[str, Any] = {
            "base_url": self.base_url,
            "time_to_ready_s": self.ready_s,
            "server_info": self.info,
        }
        if self.container is not None:
            spec = self.container.spec
            record.update(
                engine=spec.engine,
                image=self.container.image,
                image_id=self.container.image_id,
                image_digests=list(self.container.image_digests),
                command=spec.command_line,
                substitutions=list(spec.substitutions),
                container=self.container.name,
            )
        return record


@asynccontextmanager
async def deployed(
    engine: ContainerEngine,
    spec: LaunchSpec,
    *,
    name: str,
    labels: dict[str, str],
    gpus: list[int] | None,
    cache_dir: Path,
    ready_timeout_s: float,
    log_path: Path | None = None,
) -> AsyncIterator[Deployment]:
    """Start `spec` as container `name`, yield it once ready, and stop + remove it in every case."""
    container: RunningContainer | None = None
    try:
        container = await asyncio.to_thread(
            engine.start, spec, name=name, labels=labels, gpus=gpus, cache_dir=cache_dir
        )
        log.info("started %s (%s): %s", name, spec.image, spec.command_line)
        ready_s = await wait_ready(engine, container, timeout_s=ready_timeout_s)
        log.info("%s ready after %.1f s", name, ready_s)
        deployment = Deployment(base_url=spec.base_url, container=container, ready_s=ready_s)
        deployment.info = await fetch_info(spec.base_url)
        yield deployment
    finally:
        await _teardown(engine, name, log_path)


async def _teardown(engine: ContainerEngine, name: str, log_path: Path | None) -> None:
    """Save the container's logs, then stop and remove it; runs to the end even if cancelled again."""
    work = asyncio.ensure_future(asyncio.to_thread(_save_logs_and_stop, engine, name, log_path))
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        await work
        raise


def _save_logs_and_stop(engine: ContainerEngine, name: str, log_path: Path | None) -> None:
    if log_path is not None:
        try:
            text = engine.logs(name)
            if text:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log_path.write_text(text, encoding="utf-8")
        except Exception as exc:  # logs are a courtesy; stopping is not
            log.warning("could not save the logs of %s: %s", name, exc)
    engine.stop(name)
    log.info("stopped and removed %s", name)


async def wait_ready(engine: ContainerEngine, container: RunningContainer, *, timeout_s: float) -> float:
    """Poll the health endpoint until it answers 200, failing early if the container exits."""
    started = time.monotonic()
    url = container.spec.base_url + container.spec.health_path
    probe_timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=probe_timeout) as session:
        while True:
            status, code = await asyncio.to_thread(engine.state, container.id)
            if status != "running":
                tail = await asyncio.to_thread(engine.logs, container.id, 20)
                raise EngineError(
                    f"container {container.name} {status} (exit code {code}) before it was ready; "
                    f"last log lines:\n{tail.strip()}",
                    "check the image, the flags above and the GPU; logs are in logs/model_evaluation/",
                )
            if await _healthy(session, url):
                return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                tail = await asyncio.to_thread(engine.logs, container.id, 20)
                raise EngineError(
                    f"container {container.name} not ready after {timeout_s:.0f} s; "
                    f"last log lines:\n{tail.strip()}",
                    "raise ready_timeout_s in sweep.yaml if the model is still downloading",
                )
            await asyncio.sleep(_POLL_S)


async def _healthy(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url) as response:
            return response.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def fetch_info(base_url: str) -> dict[str, Any]:
    """The server's self-description: TGI /info, else the OpenAI /v1/models list; {} if neither answers."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for path in ("/info", "/v1/models"):
            try:
                async with session.get(base_url + path) as response:
                    if response.status == 200:
                        data = await response.json(content_type=None)
                        return data if isinstance(data, dict) else {"data": data}
            except (TimeoutError, aiohttp.ClientError, ValueError):
                continue
    return {}
