"""Notice a dead server in seconds, not after every request has spent its retries.

The client reports each attempt's outcome. After `threshold` connection failures or timeouts in a row, the
gate probes the health URL a few times; when none answers, `on_dead` is called once with the reason, and the
runner stops the deployment. One success anywhere resets the count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp

log = logging.getLogger(__name__)


class HealthGate:
    """Counts consecutive connection failures of one server and checks its health when they pile up."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        on_dead: Callable[[str], None],
        *,
        threshold: int = 5,
        probes: int = 3,
        interval_s: float = 2.0,
    ) -> None:
        self.session = session
        self.url = url
        self.on_dead = on_dead
        self.threshold = threshold
        self.probes = probes
        self.interval_s = interval_s
        self.failures = 0
        self.dead = False
        self._probe: asyncio.Task[None] | None = None

    def failed(self) -> None:
        """An attempt could not connect or timed out."""
        self.failures += 1
        if self.failures >= self.threshold and not self.dead and self._probe is None:
            self._probe = asyncio.get_running_loop().create_task(self._check())

    def answered(self) -> None:
        """An attempt got an answer from the server (any HTTP status)."""
        self.failures = 0

    async def _check(self) -> None:
        try:
            for attempt in range(self.probes):
                if attempt:
                    await asyncio.sleep(self.interval_s)
                if await self._healthy():
                    self.failures = 0
                    return
            self.dead = True
            reason = (
                f"the server stopped answering: {self.failures} requests in a row could not connect or timed "
                f"out, and {self.url} failed {self.probes} health checks {self.interval_s:g} s apart"
            )
            log.error("%s", reason)
            self.on_dead(reason)
        finally:
            self._probe = None

    async def _healthy(self) -> bool:
        try:
            async with self.session.get(self.url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
