"""Injected faults: 503 for the first requests, errors inside SSE streams, a crash or an out-of-memory death
after N answered requests."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Counts generation requests and says when a fault is due (0 disables each fault)."""

    fail_first_503: int = 0
    stream_error_every: int = 0
    crash_after: int = 0
    oom_after: int = 0
    seen: int = 0
    streamed: int = 0
    finished: int = 0
    crashed: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self) -> bool:
        """Count a generation request; True when it must be answered with HTTP 503."""
        self.seen += 1
        return self.seen <= self.fail_first_503

    def stream_error_due(self) -> bool:
        """Count a streamed generation; True when this one must fail inside its stream."""
        self.streamed += 1
        return self.stream_error_every > 0 and self.streamed % self.stream_error_every == 0

    def depart(self) -> None:
        """A generation request was answered; set `crashed` once `crash_after` of them were."""
        self.finished += 1
        if self.crash_after and self.finished >= self.crash_after:
            self.crashed.set()
        if self.oom_after and self.finished == self.oom_after:
            # after the answer's last bytes are flushed: the answers before the kill reach the client
            asyncio.get_running_loop().call_later(OOM_DELAY_S, exhaust_memory)

    def describe(self) -> dict[str, int]:
        """The fault settings, for /info."""
        return {
            "fault_503_first": self.fail_first_503,
            "fault_stream_error_every": self.stream_error_every,
            "crash_after": self.crash_after,
            "fault_oom_after": self.oom_after,
        }


OOM_CEILING_BYTES = 4 << 30
OOM_DELAY_S = 0.2


def exhaust_memory() -> None:
    """Touch memory in 32 MiB blocks until the kernel kills the process; give up at 4 GiB (no limit set)."""
    hoard: list[bytearray] = []
    block = 32 << 20
    while len(hoard) * block < OOM_CEILING_BYTES:
        hoard.append(bytearray(b"\x01" * block))
    print("evalclient-sim: 4 GiB allocated and still alive: no memory limit; exiting", file=sys.stderr)
    os._exit(1)
