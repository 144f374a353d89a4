"""Running the server: startup delay, binding, signals, graceful stop and the simulated crash."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from aiohttp import web

from .config import SimConfig
from .rules import RuleSet
from .server import SimServer

CRASH_GRACE_S = 0.1


async def serve(config: SimConfig, rules: RuleSet) -> int:
    """Serve until SIGTERM/SIGINT (returns 0) or a port that cannot be bound (returns 1).

    A simulated crash ends the process at once with exit code 1, its message the last line of its log, as a
    real crash would: no graceful cleanup, so no shutdown chatter about handlers still in flight follows it.
    """
    stop = asyncio.Event()
    _on_signals(stop)
    watcher = asyncio.ensure_future(_watch_parent(stop)) if config.exit_with_parent else None
    if config.startup_delay > 0:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=config.startup_delay)
        if stop.is_set():
            return 0
    server = SimServer(config, rules)
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.hostname, config.port).start()
    except OSError as exc:
        print(
            f"evalclient-sim: error: cannot listen on {config.hostname}:{config.port} ({exc})",
            file=sys.stderr,
        )
        await runner.cleanup()
        return 1
    crashed = await _wait_for_end(stop, server.crashed)
    if watcher is not None:
        watcher.cancel()
    if crashed:
        await asyncio.sleep(CRASH_GRACE_S)  # let the last answer leave before the "crash"
        print(
            f"evalclient-sim: simulated crash after {config.crash_after} generation requests",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        os._exit(1)
    await runner.cleanup()
    return 0


async def _wait_for_end(stop: asyncio.Event, crashed: asyncio.Event) -> bool:
    """Wait for a stop signal or the crash; True when it was the crash."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(crashed.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    return crashed.is_set()


async def _watch_parent(stop: asyncio.Event) -> None:
    """Set `stop` once the process that started this one is gone (re-parented)."""
    parent = os.getppid()
    while os.getppid() == parent:  # noqa: ASYNC110 (no event tells of a parent's death; poll it)
        await asyncio.sleep(0.5)
    stop.set()


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
