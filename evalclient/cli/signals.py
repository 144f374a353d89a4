"""Ctrl-C, SIGTERM and SIGHUP during a run or a judge phase: a cancellation, so that every cleanup runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from evalclient.cli.common import err

T = TypeVar("T")


async def with_signals(work: Awaitable[T]) -> T:
    """Run `work`, turning Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a dropped SSH session) into a
    cancellation, so every `finally` (container removal, checkpoint close) runs. A second Ctrl-C while that
    cleanup runs is answered with one line, never a traceback, and does not cut the cleanup short."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    interrupts = 0

    def hang_up() -> None:
        detach_from_terminal()
        task.cancel()

    def interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            task.cancel()
        elif interrupts == 2:
            err.print("still cleaning up (removing containers, closing checkpoints); it ends by itself")

    handlers: dict[signal.Signals, Callable[[], object]] = {
        signal.SIGTERM: task.cancel,
        signal.SIGHUP: hang_up,
        signal.SIGINT: interrupt,
    }
    for signum, handler in handlers.items():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, handler)
    try:
        return await task
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        for signum in handlers:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)  # SIGINT's goes back to raising KeyboardInterrupt
        if interrupts or task.cancelled():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # leaving: no Ctrl-C may interrupt the exit


def detach_from_terminal() -> None:
    """After a hang-up the terminal is gone and writing to it fails: send output to /dev/null instead
    (the run's log files keep everything)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
