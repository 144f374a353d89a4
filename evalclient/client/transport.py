"""HTTP for the protocols: the pooled session, the in-flight limit, and every failure typed.

Each call holds one slot of the server's concurrency limit while its HTTP exchange lasts, so a request kind
that needs several exchanges (log-likelihood) never exceeds the limit. aiohttp and JSON failures become
`RequestFailure` with an `ErrorKind`; nothing else escapes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from evalclient.client.completion import ErrorKind
from evalclient.client.limit import AdaptiveLimit
from evalclient.client.sse import Batch, sse_batches

OVERLOAD_STATUSES = frozenset({429, 503})
RETRY_5XX = frozenset({502, 504})


class RequestFailure(Exception):
    """One request's failure: its kind, whether another attempt may cure it, the HTTP status if any."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None, retry: bool = False):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry = retry


def malformed(message: str) -> RequestFailure:
    return RequestFailure(ErrorKind.MALFORMED, message)


class Transport:
    """POSTs JSON to one server through a pooled session, at most `limit` exchanges at once."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, limit: AdaptiveLimit) -> None:
        self.session = session
        self.base_url = base_url
        self.limit = limit

    async def post_json(self, path: str, body: Mapping[str, Any]) -> tuple[Any, Mapping[str, str]]:
        """The parsed JSON answer and the response headers."""
        async with self.limit:
            try:
                async with self.session.post(self.base_url + path, json=body) as response:
                    await raise_for_status(response)
                    raw = await response.read()
                    headers = response.headers
            except aiohttp.ClientError as exc:
                raise _client_failure(exc) from exc
            except TimeoutError as exc:
                raise _timeout(exc) from exc
        try:
            return json.loads(raw), headers
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise malformed(f"response body is not JSON: {raw[:120]!r}") from exc

    @asynccontextmanager
    async def post_sse(self, path: str, body: Mapping[str, Any]) -> AsyncIterator[AsyncIterator[Batch]]:
        """Yield the event stream as (arrival time, data payloads) batches; read failures are typed too."""
        async with self.limit:
            try:
                async with self.session.post(self.base_url + path, json=body) as response:
                    await raise_for_status(response)
                    yield sse_batches(response.content)
            except aiohttp.ClientError as exc:
                raise _client_failure(exc) from exc
            except TimeoutError as exc:
                raise _timeout(exc) from exc


async def raise_for_status(response: aiohttp.ClientResponse) -> None:
    """RequestFailure for any status but 200, with the server's own message."""
    if response.status == 200:
        return
    status = response.status
    detail = _error_detail((await response.read())[:2000].decode("utf-8", errors="replace"))
    message = f"HTTP {status}: {detail}"
    if status in OVERLOAD_STATUSES:
        raise RequestFailure(ErrorKind.OVERLOADED, message, status=status, retry=True)
    if status >= 500:
        raise RequestFailure(ErrorKind.HTTP_5XX, message, status=status, retry=status in RETRY_5XX)
    raise RequestFailure(ErrorKind.HTTP_4XX, message, status=status)


def _error_detail(text: str) -> str:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:300]
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed.get("message", parsed.get("detail", text)))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return text.strip()[:300]


def _client_failure(exc: aiohttp.ClientError) -> RequestFailure:
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return _timeout(exc)
    return RequestFailure(
        ErrorKind.CONNECTION, f"connection failed: {type(exc).__name__}: {exc}".rstrip(": "), retry=True
    )


def _timeout(exc: BaseException) -> RequestFailure:
    return RequestFailure(ErrorKind.TIMEOUT, f"no complete answer in time ({type(exc).__name__})", retry=True)
