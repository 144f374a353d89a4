"""The protocol interface and the helpers every protocol shares (event timing, JSON shape checks)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from evalclient.client.completion import Completion, ErrorKind
from evalclient.client.requests import Request, RequestKind
from evalclient.client.transport import RequestFailure, Transport, malformed


class Protocol(ABC):
    """Speaks one request kind to one engine; fills the Completion or raises RequestFailure."""

    kind: RequestKind

    @abstractmethod
    async def execute(self, http: Transport, request: Request, out: Completion, model: str) -> None:
        """Send `request` and record the answer in `out` (timings included)."""


DONE = b"[DONE]"


def parse_event(data: bytes) -> dict[str, Any]:
    """One SSE payload as a JSON object; RequestFailure for anything else or an error event."""
    try:
        event = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise malformed(f"stream event is not JSON: {data[:120]!r}") from exc
    if not isinstance(event, dict):
        raise malformed(f"stream event is not an object: {data[:120]!r}")
    if "error" in event:
        raise stream_error(event)
    return event


def stream_error(event: dict[str, Any]) -> RequestFailure:
    """An error event after HTTP 200: overload and generation failures are worth another attempt."""
    error = event["error"]
    message = str(error.get("message", error) if isinstance(error, dict) else error)
    status = error.get("http_status_code") if isinstance(error, dict) else None
    error_type = str(event.get("error_type", ""))
    text = f"error inside the stream: {message}"
    if error_type == "overloaded" or status in (429, 503) or "overloaded" in message.lower():
        return RequestFailure(ErrorKind.OVERLOADED, text, status=status, retry=True)
    transient = error_type == "generation" or message.startswith("Request failed during generation")
    return RequestFailure(ErrorKind.STREAM_ERROR, text, status=status, retry=transient)


def field(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """obj[name] when it is None or of `kind`; RequestFailure(malformed) naming the field otherwise."""
    value = obj.get(name)
    if value is not None and not isinstance(value, kind):
        raise malformed(f"{where}{name} is {type(value).__name__}")
    return value


def as_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise malformed(f"{where} is {type(value).__name__}, not an object")
    return value


def first_choice(body: dict[str, Any], where: str) -> dict[str, Any] | None:
    """`choices[0]` as an object, None when `choices` is empty or absent (usage-only chunks)."""
    choices = body.get("choices")
    if not choices:
        return None
    if not isinstance(choices, list):
        raise malformed(f"{where}choices is {type(choices).__name__}, not a list")
    return as_object(choices[0], f"{where}choices[0]")


class Clock:
    """Marks token arrivals (at the time their bytes were read): the first gives TTFT, each later one an
    inter-token latency (0 for tokens that arrived in the same read)."""

    __slots__ = ("itl", "last", "out")

    def __init__(self, out: Completion) -> None:
        self.out = out
        self.last = out.started_at
        self.itl = out.itl_ms

    def tick(self, now: float) -> None:
        if self.out.ttft_ms is None:
            self.out.ttft_ms = (now - self.out.started_at) * 1000
        else:
            self.itl.append((now - self.last) * 1000)
        self.last = now


def usage_counts(body: dict[str, Any], out: Completion) -> None:
    """Take the server's prompt and completion token counts from an OpenAI `usage` object."""
    usage = body.get("usage")
    if usage is None:
        return
    usage = as_object(usage, "usage")
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int):
        out.prompt_tokens = prompt
    if isinstance(completion, int):
        out.completion_tokens = completion
