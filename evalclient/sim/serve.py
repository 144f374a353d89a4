"""Running the server: startup delay, binding, signals, graceful stop and the simulated crash.

Like TGI 3.3.7 on the host network, the process also binds a Prometheus listener (`--prometheus-port`,
default 9000, serving /metrics) and, sharded (`--num-shard` above 1), torch.distributed's master port
(`--master-port`, default 29500): a port another server holds stops it as it stops TGI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys

from aiohttp import web

from .config import SimConfig
from .rules import RuleSet
from .server import SimServer

CRASH_GRACE_S = 0.1
PROMETHEUS_PORT = 9000
MASTER_PORT = 29500


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
    async with contextlib.AsyncExitStack() as held:
        if not _hold_master_port(config, held):
            return 1
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
        if not await _prometheus_listener(server, config, held):
            await runner.cleanup()
            return 1
        return await _run(server, config, runner, stop, watcher)


async def _run(
    server: SimServer,
    config: SimConfig,
    runner: web.AppRunner,
    stop: asyncio.Event,
    watcher: asyncio.Future[None] | None,
) -> int:
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


async def _prometheus_listener(server: SimServer, config: SimConfig, held: contextlib.AsyncExitStack) -> bool:
    """TGI's router serves /metrics on a second listener at --hostname:--prometheus-port (router/src/
    server.rs `p_addr.set_port(prometheus_port)`) and panics when it cannot bind it."""
    if not config.tgi:
        return True
    port = int(config.launcher_args.get("prometheus_port", PROMETHEUS_PORT))
    app = web.Application()
    app.router.add_get("/metrics", server.metrics)
    metrics_runner = web.AppRunner(app, access_log=None)
    await metrics_runner.setup()
    try:
        await web.TCPSite(metrics_runner, config.hostname, port).start()
    except OSError as exc:
        await metrics_runner.cleanup()
        print(
            "thread 'main' panicked at router/src/server.rs: failed to build prometheus recorder: "
            f'FailedToCreateHTTPListener("{exc.strerror} (os error {exc.errno})")',
            file=sys.stderr,
            flush=True,
        )
        return False
    held.push_async_callback(metrics_runner.cleanup)
    return True


def _hold_master_port(config: SimConfig, held: contextlib.AsyncExitStack) -> bool:
    """Sharded, hold torch.distributed's master port as its TCPStore does for the shards' life; a port in
    use fails the shard as TGI's launcher reports it."""
    shards = config.launcher_args.get("num_shard") or 1
    if shards <= 1 or not config.tgi:
        return True
    port = int(config.launcher_args.get("master_port", MASTER_PORT))
    sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    try:
        sock.bind((config.hostname, port))
        sock.listen()
    except OSError as exc:
        print(
            "ERROR text_generation_launcher: Shard complete standard error output:\n"
            "torch.distributed.DistStoreError: The server socket has failed to listen on any local network "
            f"address. port: {port}, useIpv6: 0, code: -{exc.errno}, name: EADDRINUSE, message: address "
            "already in use\n"
            "ERROR text_generation_launcher: Shard 0 failed to start\nError: ShardCannotStart",
            file=sys.stderr,
            flush=True,
        )
        return False
    return True


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
