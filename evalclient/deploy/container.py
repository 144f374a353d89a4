"""Deployments in containers (Docker) or simulator processes (the local stand-in): one lifecycle for both.

Create (labelled with the run and its owning process) → start → wait until the health probe answers, failing
early if the container exits → watch its state every second while it serves → save its logs and remove it,
whatever happened. Blocking engine calls run in worker threads; a cancelled create or start is waited for
before the teardown, so what it made is always found and removed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from evalclient.deploy.deployment import Deployment, SpecFor, Stage
from evalclient.deploy.docker_engine import ContainerEngine, ContainerState, RunningContainer
from evalclient.deploy.endpoint import fetch_info
from evalclient.deploy.ownership import owner_labels
from evalclient.deploy.ports import PortLease
from evalclient.engines.base import Ports
from evalclient.errors import EngineError
from evalclient.planning.plan import DeploymentPlan
from evalclient.planning.slots import Slot

log = logging.getLogger("evalclient.deploy")
T = TypeVar("T")
_POLL_S = 0.5
_TAIL = 20


class ContainerProvider:
    """Deployments as containers of `engine` (Docker, or LocalSimulatorEngine processes)."""

    def __init__(
        self,
        engine: ContainerEngine,
        *,
        gpus: list[int] | None,
        cache_dir: Path | None,
        ready_timeout_s: float,
        memory_limit: str | None = None,
        watch_interval_s: float = 1.0,
        results_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.gpus = gpus
        self.cache_dir = cache_dir
        self.results_dir = results_dir
        self.ready_timeout_s = ready_timeout_s
        self.memory_limit = memory_limit
        self.watch_interval_s = watch_interval_s
        self.reaped: list[str] = []

    def prepare(self) -> None:
        """Connect to Docker (a one-line error when it cannot), check that a suite running in a container
        sees the model cache and results at their host paths, and remove the containers of dead runs."""
        self.reaped = self.engine.prepare({"model cache": self.cache_dir, "results folder": self.results_dir})

    def image_id(self, image: str) -> str | None:
        return self.engine.image_id(image)

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
        name = f"evalclient-{plan.key.replace('.', '-')}-{run_id[-6:]}"
        labels = {
            **owner_labels(run_id),
            "evalclient.model": plan.model.key,
            "evalclient.preset": plan.preset.name,
        }
        gpus = self.gpus if slot is None else slot.devices
        if slot is not None:
            labels["evalclient.gpus"] = slot.label
        tell = stage or (lambda text: None)
        with PortLease(count=3) as lease:
            spec = spec_for(Ports(*lease.ports))
            if await asyncio.to_thread(self.engine.image_id, spec.image) is None:
                tell(f"pulling {spec.image}")
            await _in_daemon_thread(self.engine.ensure_image, spec.image)
            created = _in_thread(
                self.engine.create,
                spec,
                name=name,
                labels=labels,
                gpus=gpus,
                cache_dir=self.cache_dir,
                memory_limit=self.memory_limit,
            )
            watcher: asyncio.Task[None] | None = None
            try:
                container = await asyncio.shield(created)
                await asyncio.shield(_in_thread(self.engine.start, container.id))
                log.info("started %s (%s): %s", name, spec.image, spec.command_line)
                tell("loading weights")
                deployment = await self._ready(container)
                deployment.slot = slot
                watcher = asyncio.create_task(self._watch(container, deployment))
                yield deployment
            finally:
                if watcher is not None:
                    watcher.cancel()
                await _settled(created)
                await _settled(_in_thread(self._save_logs_and_remove, name, log_path))

    async def _ready(self, container: RunningContainer) -> Deployment:
        ready_s = await wait_ready(self.engine, container, timeout_s=self.ready_timeout_s)
        log.info("%s ready after %.1f s", container.name, ready_s)
        info = await fetch_info(container.spec.base_url, container.spec.info_paths)
        logs = await asyncio.to_thread(self.engine.logs, container.id)
        return Deployment(container.spec.base_url, container, ready_s, info, logs)

    async def _watch(self, container: RunningContainer, deployment: Deployment) -> None:
        """Mark the deployment lost as soon as its container stops running."""
        while True:
            await asyncio.sleep(self.watch_interval_s)
            state = await asyncio.to_thread(self.engine.state, container.id)
            if not state.running:
                tail = await asyncio.to_thread(self.engine.logs, container.id, _TAIL)
                reason = describe_exit(container.name, state, tail)
                log.error("%s", reason)
                deployment.mark_lost(reason)
                return

    def _save_logs_and_remove(self, name: str, log_path: Path) -> None:
        try:
            text = self.engine.logs(name)
            if text:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log_path.write_text(text, encoding="utf-8")
        except Exception as exc:  # logs are a courtesy; removing is not
            log.warning("could not save the logs of %s: %s", name, exc)
        self.engine.remove(name)
        log.info("stopped and removed %s", name)


def describe_exit(name: str, state: ContainerState, tail: str) -> str:
    """One line on how a container ended (exit code, signal, OOM) and its last log lines."""
    code = state.exit_code
    if state.status == "gone":
        what = f"container {name} was removed"
    elif state.oom_killed:
        what = f"container {name} was killed for running out of memory (OOMKilled, exit code {code})"
    elif code is not None and code > 128 and code - 128 in signal.Signals._value2member_map_:
        what = f"container {name} exited with code {code} (killed by {signal.Signals(code - 128).name})"
    else:
        what = f"container {name} {state.status} with exit code {code}"
    if state.error:
        what += f" ({state.error})"
    lines = [line for line in tail.strip().splitlines() if line.strip()][-5:]
    return what + (f"; last log lines: {' | '.join(lines)}" if lines else "")


async def wait_ready(engine: ContainerEngine, container: RunningContainer, *, timeout_s: float) -> float:
    """Poll the health endpoint until it answers 200, failing early if the container stops running."""
    started = time.monotonic()
    url = container.spec.base_url + container.spec.health_path
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while True:
            state = await asyncio.to_thread(engine.state, container.id)
            if not state.running:
                tail = await asyncio.to_thread(engine.logs, container.id, _TAIL)
                raise EngineError(
                    f"{describe_exit(container.name, state, tail)}; it never became ready",
                    "check the image, the flags and the GPU; logs are in logs/model_evaluation/",
                )
            if await _healthy(session, url):
                return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                tail = await asyncio.to_thread(engine.logs, container.id, _TAIL)
                lines = " | ".join(tail.strip().splitlines()[-5:])
                raise EngineError(
                    f"container {container.name} not ready after {timeout_s:.0f} s; last log lines: {lines}",
                    "raise ready_timeout_s in sweep.yaml if the model is still downloading",
                )
            await asyncio.sleep(_POLL_S)


async def _healthy(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url) as response:
            return response.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


def _in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
    """Run a blocking call in the loop's worker threads; the future completes when the thread does,
    even if whoever awaited it was cancelled."""
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(None, lambda: function(*args, **kwargs))


async def _in_daemon_thread(function: Callable[[str], None], argument: str) -> None:
    """Run a long blocking call (an image pull) in a daemon thread: a cancelled wait returns at once and the
    thread never holds up the suite's exit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def report(error: BaseException | None) -> None:
        if not done.done():
            done.set_result(None) if error is None else done.set_exception(error)

    def work() -> None:
        error: BaseException | None = None
        try:
            function(argument)
        except BaseException as exc:
            error = exc
        with suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(report, error)

    threading.Thread(target=work, name="evalclient-pull", daemon=True).start()
    await done


async def _settled(future: Awaitable[T]) -> None:
    """Wait until `future` has finished, through any number of cancellations; its error is logged."""
    future = asyncio.ensure_future(future)
    while not future.done():
        with suppress(asyncio.CancelledError):
            await asyncio.shield(future)
    if not future.cancelled() and future.exception() is not None:
        log.debug("background step ended with %r", future.exception())
