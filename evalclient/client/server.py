"""The async client of one inference server: a pooled aiohttp session, streamed chat, retries, timings."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from evalclient.client.reasoning import split_reasoning
from evalclient.client.sse import sse_data
from evalclient.client.types import GenerationRequest, RequestRecord

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class RetryableError(Exception):
    """A failure worth another try: overload, a restarting server, a dropped connection."""


class RequestFailed(Exception):
    """A failure retries will not cure: validation errors, an error event inside the stream."""


class ServerClient:
    """Sends chat requests to one server over one pooled session; use as `async with`."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "tgi",
        concurrency: int = 32,
        request_timeout_s: float = 600,
        max_retries: int = 5,
        retry_wait_s: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.concurrency = concurrency
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s, sock_connect=10)
        self._max_retries = max_retries
        self._retry_wait_s = retry_wait_s
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ServerClient:
        connector = aiohttp.TCPConnector(limit=self.concurrency + 4, limit_per_host=self.concurrency + 4)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session (the monitor scrapes /metrics over it too)."""
        if self._session is None:
            raise RuntimeError("ServerClient used outside `async with`")
        return self._session

    async def run(
        self, requests: Iterable[GenerationRequest], on_done: Callable[[RequestRecord], None] | None = None
    ) -> list[RequestRecord]:
        """Send every request, at most `concurrency` at once; records come back in request order."""
        items = list(requests)
        limit = asyncio.Semaphore(self.concurrency)
        records: list[RequestRecord | None] = [None] * len(items)

        async def one(index: int, request: GenerationRequest) -> None:
            async with limit:
                records[index] = await self.chat(request)
            if on_done is not None:
                on_done(records[index])  # type: ignore[arg-type]

        async with asyncio.TaskGroup() as group:
            for index, request in enumerate(items):
                group.create_task(one(index, request))
        return [r for r in records if r is not None]

    async def chat(self, request: GenerationRequest) -> RequestRecord:
        """One streamed chat completion with retries; failures are recorded, not raised."""
        record = RequestRecord(id=request.id)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_retries + 1),
            wait=wait_exponential(multiplier=self._retry_wait_s, max=30) + wait_random(0, self._retry_wait_s),
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    record.retries = attempt.retry_state.attempt_number - 1
                    await self._stream_chat(request, record)
        except (RetryableError, RequestFailed) as exc:
            record.error = str(exc)
            record.finished_at = time.monotonic()
        return record

    async def _stream_chat(self, request: GenerationRequest, record: RequestRecord) -> None:
        body = self._chat_body(request)
        record.started_at = time.monotonic()
        record.ttft_ms, record.itl_ms = None, []
        try:
            async with self.session.post(self.base_url + "/v1/chat/completions", json=body) as response:
                await _raise_for_status(response)
                text = await self._read_stream(response, record)
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise RetryableError(f"connection failed: {type(exc).__name__}: {exc}") from exc
        record.finished_at = time.monotonic()
        record.latency_ms = (record.finished_at - record.started_at) * 1000
        record.reasoning, record.response = _merge_reasoning(record.reasoning, text)
        record.error = None

    def _chat_body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.stop:
            body["stop"] = list(request.stop)
        body.update(request.extra_body)
        return body

    async def _read_stream(self, response: aiohttp.ClientResponse, record: RequestRecord) -> str:
        pieces: list[str] = []
        reasoning: list[str] = []
        last = record.started_at
        chunks = 0
        async for data in sse_data(response):
            if data.strip() == "[DONE]":
                break
            event = _parse_event(data)
            delta, think = _apply_event(event, record)
            if delta or think:
                now = time.monotonic()
                if record.ttft_ms is None:
                    record.ttft_ms = (now - record.started_at) * 1000
                else:
                    record.itl_ms.append((now - last) * 1000)
                last = now
                chunks += 1
                pieces.append(delta)
                reasoning.append(think)
        record.reasoning = "".join(reasoning) or None
        if record.completion_tokens is None and chunks:
            record.completion_tokens = chunks
        return "".join(pieces)


def _parse_event(data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except json.JSONDecodeError as exc:
        raise RequestFailed(f"malformed stream event: {data[:120]!r}") from exc
    if not isinstance(event, dict):
        raise RequestFailed(f"malformed stream event: {data[:120]!r}")
    if "error" in event:
        raise _stream_error(event)
    return event


def _stream_error(event: dict[str, Any]) -> Exception:
    """TGI reports overload and generation failures as an event after HTTP 200; those are worth a retry."""
    error = event["error"]
    message = str(error.get("message", error) if isinstance(error, dict) else error)
    status = error.get("http_status_code") if isinstance(error, dict) else None
    kind = str(event.get("error_type", ""))
    transient = (
        kind in ("overloaded", "generation")
        or status in RETRY_STATUSES
        or "overloaded" in message.lower()
        or message.startswith("Request failed during generation")
    )
    text = f"error inside the stream: {message}"
    return RetryableError(text) if transient else RequestFailed(text)


def _apply_event(event: dict[str, Any], record: RequestRecord) -> tuple[str, str]:
    """Take usage and finish reason from a chunk; return its content and reasoning deltas."""
    usage = event.get("usage")
    if isinstance(usage, dict):
        record.prompt_tokens = usage.get("prompt_tokens", record.prompt_tokens)
        record.completion_tokens = usage.get("completion_tokens", record.completion_tokens)
    choices: Sequence[dict[str, Any]] = event.get("choices") or ()
    if not choices:
        return "", ""
    choice = choices[0]
    if choice.get("finish_reason"):
        record.finish_reason = str(choice["finish_reason"])
    delta = choice.get("delta") or {}
    think = delta.get("reasoning_content") or delta.get("reasoning") or ""
    return str(delta.get("content") or ""), str(think)


def _merge_reasoning(streamed: str | None, text: str) -> tuple[str | None, str]:
    inline, answer = split_reasoning(text)
    parts = [p for p in (streamed, inline) if p]
    return ("\n".join(parts) if parts else None), answer


async def _raise_for_status(response: aiohttp.ClientResponse) -> None:
    if response.status == 200:
        return
    detail = (await response.text())[:300]
    try:
        parsed = json.loads(detail)
        if isinstance(parsed, dict):
            err = parsed.get("error", detail)
            detail = str(err.get("message", err) if isinstance(err, dict) else err)
    except json.JSONDecodeError:
        pass
    message = f"HTTP {response.status}: {detail}"
    if response.status in RETRY_STATUSES:
        raise RetryableError(message)
    raise RequestFailed(message)
