"""The async client of one inference server: one pooled session, a concurrency limit, retries, and every
request kind dispatched to the engine's protocol for it. A request's failure is recorded in its own
Completion (typed), never raised: only cancellation leaves `send`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

import aiohttp

from evalclient.client.completion import Completion, ErrorKind, RequestError
from evalclient.client.health import HealthGate
from evalclient.client.limit import AdaptiveLimit
from evalclient.client.protocols.base import Protocol
from evalclient.client.requests import (
    ChatRequest,
    GenerateRequest,
    LoglikelihoodRequest,
    Request,
    RequestKind,
)
from evalclient.client.transport import RequestFailure, Transport

log = logging.getLogger(__name__)
_NO_ANSWER = frozenset({ErrorKind.CONNECTION, ErrorKind.TIMEOUT})


class ServerClient:
    """Sends requests to one server; use as `async with`. `protocols` maps each kind the engine serves."""

    def __init__(
        self,
        base_url: str,
        *,
        protocols: Mapping[RequestKind, Protocol],
        model: str = "tgi",
        concurrency: int = 32,
        request_timeout_s: float = 600,
        max_retries: int = 5,
        retry_wait_s: float = 0.5,
        health_path: str = "/health",
        on_dead: Callable[[str], None] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})
        """Sent with every request (e.g. an endpoint's Authorization); never logged or stored."""
        self.model = model
        self.concurrency = concurrency
        self.protocols = dict(protocols)
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s, sock_connect=10)
        self._max_retries = max_retries
        self._retry_wait_s = retry_wait_s
        self._session: aiohttp.ClientSession | None = None
        self._http: Transport | None = None
        self._health_path = health_path
        self._on_dead = on_dead
        self._health: HealthGate | None = None
        self.limit = AdaptiveLimit(concurrency)

    async def __aenter__(self) -> ServerClient:
        connector = aiohttp.TCPConnector(limit=self.concurrency + 4, limit_per_host=self.concurrency + 4)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, headers=self._headers
        )
        self._http = Transport(self._session, self.base_url, self.limit)
        if self._on_dead is not None:
            self._health = HealthGate(self._session, self.base_url + self._health_path, self._on_dead)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._health is not None:
            await self._health.close()
        if self._session is not None:
            await self._session.close()
        self._session = self._http = self._health = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session (the monitor scrapes /metrics over it too)."""
        if self._session is None:
            raise RuntimeError("ServerClient used outside `async with`")
        return self._session

    def supports(self, kind: RequestKind) -> bool:
        return kind in self.protocols

    async def chat(self, request: ChatRequest) -> Completion:
        return await self.send(request)

    async def generate(self, request: GenerateRequest) -> Completion:
        return await self.send(request)

    async def loglikelihood(self, request: LoglikelihoodRequest) -> Completion:
        return await self.send(request)

    async def send(self, request: Request) -> Completion:
        """One request with retries; the Completion carries the answer or the typed error."""
        if self._http is None:
            raise RuntimeError("ServerClient used outside `async with`")
        out = Completion(request.id, request.kind)
        protocol = self.protocols.get(request.kind)
        if protocol is None:
            out.error = RequestError(ErrorKind.UNSUPPORTED, f"this engine serves no {request.kind} requests")
            return out
        for attempt in range(1, self._max_retries + 2):
            out.reset()
            out.attempts = attempt
            try:
                await protocol.execute(self._http, request, out, self.model)
                self._answered()
                self.limit.succeeded()
                return out
            except RequestFailure as failure:
                out.error = RequestError(failure.kind, failure.message, failure.status)
                self._unreachable() if failure.kind in _NO_ANSWER else self._answered()
                if failure.kind == ErrorKind.OVERLOADED:
                    self.limit.overloaded()
                if not failure.retry or attempt > self._max_retries:
                    break
            except Exception as exc:  # a bug in a protocol is this request's error, not the run's
                log.exception("request %s failed inside the client", request.id)
                out.error = RequestError(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")
                break
            await asyncio.sleep(self._backoff(attempt))
        out.finished_at = time.monotonic()
        return out

    def _answered(self) -> None:
        if self._health is not None:
            self._health.answered()

    def _unreachable(self) -> None:
        if self._health is not None:
            self._health.failed()

    def _backoff(self, attempt: int) -> float:
        wait = min(30.0, self._retry_wait_s * 2.0 ** (attempt - 1))
        return wait + random.uniform(0, self._retry_wait_s)

    async def run(
        self, requests: Iterable[Request], on_done: Callable[[Completion], None] | None = None
    ) -> list[Completion]:
        """Send every request (the concurrency limit applies); Completions come back in request order."""
        items = list(requests)
        results: list[Completion | None] = [None] * len(items)

        async def one(index: int, request: Request) -> None:
            results[index] = completion = await self.send(request)
            if on_done is not None:
                on_done(completion)

        async with asyncio.TaskGroup() as group:
            for index, request in enumerate(items):
                group.create_task(one(index, request))
        return [r for r in results if r is not None]
