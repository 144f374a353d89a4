"""How many requests a client keeps in flight: up to a ceiling, backing off when the server is overloaded.

Additive increase, multiplicative decrease (as TCP): every overload answer (429, 503, TGI's "overloaded")
cuts the limit to 3/4 (at least 1), and each run of `limit` successful answers raises it by one, back up to
the ceiling. The lowest limit reached is kept, so the metrics can say the client backed off.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class AdaptiveLimit:
    """An asyncio semaphore whose size adapts; use `async with limit:` around each exchange."""

    def __init__(self, ceiling: int) -> None:
        if ceiling < 1:
            raise ValueError("the concurrency ceiling must be at least 1")
        self.ceiling = ceiling
        self.limit = ceiling
        self.lowest = ceiling
        self.in_flight = 0
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.in_flight -= 1  # granted just as it was cancelled: hand the slot on
                self._wake()
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.in_flight -= 1
        self._wake()

    def overloaded(self) -> None:
        """The server refused for load: back off."""
        self.limit = max(1, (self.limit * 3) // 4)
        self.lowest = min(self.lowest, self.limit)
        self._successes = 0

    def succeeded(self) -> None:
        """An exchange was answered: creep back towards the ceiling."""
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)
