"""Continuous batching on an injectable clock: batch slots, a token budget, prefill and decode steps.

Each step admits waiting sequences in arrival order while a slot is free, their reservations fit the token
budget and their prompts fit the prefill budget. A reservation is prompt tokens + max_new_tokens, the latter
capped at 1024 as TGI caps it (DEFAULT_GENERATION_LENGTH); `tgi_batch_current_max_tokens` reports the sum.
The admitted prompts cost `prefill_ms_per_token` each; then every running sequence decodes one token in
`decode_step_ms`. So the throughput ceiling is slots x 1000 / decode_step_ms tokens per second.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from .generation import OutToken, Plan

DEFAULT_GENERATION_LENGTH = 1024
LAG_TOLERANCE_S = 0.05


class Clock(Protocol):
    """Where the scheduler gets the time and how it waits."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Let `seconds` pass."""
        ...


class RealClock:
    """The event loop's wall clock."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SimulatedClock:
    """Simulated time for tests: sleeping advances the clock at once (and yields to other tasks)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass(eq=False)
class Sequence:
    """One request inside the scheduler; `tokens()` yields its plan's tokens as they are decoded."""

    prompt_tokens: int
    max_new_tokens: int
    plan: Plan
    queued_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    token_times: list[float] = field(default_factory=list)
    cancelled: bool = False
    _queue: asyncio.Queue[OutToken] = field(default_factory=asyncio.Queue, repr=False)

    @property
    def reservation(self) -> int:
        """Tokens this sequence holds in the batch budget while it runs (TGI caps the new ones at 1024)."""
        return self.prompt_tokens + min(self.max_new_tokens, DEFAULT_GENERATION_LENGTH)

    @property
    def done(self) -> bool:
        """Whether every planned token has been decoded."""
        return len(self.token_times) >= len(self.plan.tokens)

    async def tokens(self) -> AsyncIterator[OutToken]:
        """The generated tokens, each as soon as its decode step ends."""
        for _ in range(len(self.plan.tokens)):
            yield await self._queue.get()

    def emit_next(self, now: float) -> None:
        """Deliver the next planned token, decoded at `now`."""
        self._queue.put_nowait(self.plan.tokens[len(self.token_times)])
        self.token_times.append(now)


@dataclass
class StepStats:
    """Counters of the work done, for /metrics."""

    prefill_steps: int = 0
    decode_steps: int = 0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    generated_tokens: int = 0


class Scheduler:
    """The batching loop; `submit` sequences, run `run()` as a task (or call `step()` yourself)."""

    def __init__(
        self,
        *,
        slots: int,
        max_batch_total_tokens: int,
        max_batch_prefill_tokens: int,
        decode_step_ms: float,
        prefill_ms_per_token: float,
        clock: Clock | None = None,
        on_step: Callable[[str, float, int], None] | None = None,
    ) -> None:
        self.slots = slots
        self.max_batch_total_tokens = max_batch_total_tokens
        self.max_batch_prefill_tokens = max_batch_prefill_tokens
        self.decode_step = decode_step_ms / 1000.0
        self.prefill_per_token = prefill_ms_per_token / 1000.0
        self.clock: Clock = clock or RealClock()
        self.stats = StepStats()
        self._on_step = on_step
        self._waiting: deque[Sequence] = deque()
        self._running: list[Sequence] = []
        self._wakeup = asyncio.Event()
        self._busy_until = 0.0

    @property
    def queue_size(self) -> int:
        """Sequences waiting for a slot."""
        return len(self._waiting)

    @property
    def batch_size(self) -> int:
        """Sequences decoding now."""
        return len(self._running)

    @property
    def reserved_tokens(self) -> int:
        """The running sequences' reservations (TGI's `tgi_batch_current_max_tokens`)."""
        return sum(seq.reservation for seq in self._running)

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing running."""
        return not self._waiting and not self._running

    def submit(self, seq: Sequence) -> None:
        """Queue a sequence (its reservation must fit the budget on its own)."""
        if seq.reservation > self.max_batch_total_tokens:
            raise ValueError(
                f"a sequence reserving {seq.reservation} tokens can never fit the batch budget "
                f"of {self.max_batch_total_tokens}"
            )
        seq.queued_at = self.clock.now()
        self._waiting.append(seq)
        self._wakeup.set()

    def cancel(self, seq: Sequence) -> None:
        """Drop a sequence (its client went away); its slot and budget free up at the next step."""
        seq.cancelled = True

    async def run(self) -> None:
        """Step whenever there is work, forever."""
        while True:
            if self.idle:
                self._wakeup.clear()
                await self._wakeup.wait()
                self._busy_until = self.clock.now()
            await self.step()

    async def step(self) -> None:
        """One batching step: admit and prefill, then decode one token for every running sequence."""
        self._drop_cancelled()
        admitted = self._admit()
        if admitted:
            await self._prefill(admitted)
        if self._running:
            await self._decode()
        elif not admitted:
            await asyncio.sleep(0)

    def _drop_cancelled(self) -> None:
        self._waiting = deque(seq for seq in self._waiting if not seq.cancelled)
        self._running = [seq for seq in self._running if not seq.cancelled]

    def _admit(self) -> list[Sequence]:
        admitted: list[Sequence] = []
        reserved = self.reserved_tokens
        prefill = 0
        while self._waiting and len(self._running) < self.slots:
            seq = self._waiting[0]
            if reserved + seq.reservation > self.max_batch_total_tokens:
                break
            if admitted and prefill + seq.prompt_tokens > self.max_batch_prefill_tokens:
                break
            self._waiting.popleft()
            reserved += seq.reservation
            prefill += seq.prompt_tokens
            self._running.append(seq)
            admitted.append(seq)
        return admitted

    async def _prefill(self, admitted: list[Sequence]) -> None:
        seconds = self.prefill_per_token * sum(seq.prompt_tokens for seq in admitted)
        start = self.clock.now()
        for seq in admitted:
            seq.started_at = start
        await self._spend(seconds)
        self.stats.prefill_steps += 1
        self.stats.prefill_seconds += seconds
        self._notify("prefill", seconds, len(admitted))

    async def _decode(self) -> None:
        await self._spend(self.decode_step)
        now = self.clock.now()
        batch = 0
        for seq in self._running:
            if not seq.cancelled:
                seq.emit_next(now)
                batch += 1
        finished = [seq for seq in self._running if seq.done]
        for seq in finished:
            seq.finished_at = now
        self._running = [seq for seq in self._running if not seq.done]
        self.stats.decode_steps += 1
        self.stats.decode_seconds += self.decode_step
        self.stats.generated_tokens += batch
        self._notify("decode", self.decode_step, batch)

    async def _spend(self, seconds: float) -> None:
        """Be busy for `seconds` after the previous work's planned end, so that the event loop's wake-up
        latency does not pile up over many steps; after a pause (or a lag of over LAG_TOLERANCE_S) the
        work starts now."""
        now = self.clock.now()
        if self._busy_until < now - LAG_TOLERANCE_S:
            self._busy_until = now
        self._busy_until += seconds
        await self.clock.sleep(max(self._busy_until - now, 0.0))

    def _notify(self, method: str, seconds: float, batch: int) -> None:
        if self._on_step is not None:
            self._on_step(method, seconds, batch)
