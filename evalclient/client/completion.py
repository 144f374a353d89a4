"""The completion record: everything the server answered to one request, stored exactly as it was sent.

`text` is the content byte for byte (leading indentation and trailing newlines kept); `answer` is the same
text with inline `<think>` reasoning removed, what scorers read. Failures are typed (`ErrorKind`), never a
free string, so a report can tell an overloaded server from a malformed answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from evalclient.client.reasoning import answer_part
from evalclient.client.requests import RequestKind


class ErrorKind(StrEnum):
    """Why a request failed."""

    CONNECTION = "connection"  # refused, reset or dropped (also mid-stream)
    TIMEOUT = "timeout"  # no complete answer within the request timeout
    HTTP_4XX = "http_4xx"  # the server refused the request (validation, unknown model…)
    HTTP_5XX = "http_5xx"  # a server error
    OVERLOADED = "overloaded"  # 429/503, or TGI's "overloaded" error (worth a retry)
    STREAM_ERROR = "stream_error"  # an error event inside a stream that began with HTTP 200
    MALFORMED = "malformed"  # a body or event the protocol cannot read
    UNSUPPORTED = "unsupported"  # the engine cannot serve this request kind
    INTERNAL = "internal"  # a bug in a solver or in the client (traceback in the log)


@dataclass(frozen=True, slots=True)
class RequestError:
    """A failed request: its kind, the message, and the HTTP status where there was one."""

    kind: ErrorKind
    message: str
    status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "message": self.message, "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestError:
        return cls(ErrorKind(data["kind"]), str(data.get("message", "")), data.get("status"))

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(slots=True)
class ToolCall:
    """One function call the model made: `arguments` parsed from JSON (None when `arguments_text` is not)."""

    name: str
    arguments_text: str
    arguments: Any = None
    id: str | None = None
    source: str = "api"  # "api": the server's tool_calls; "text": Qwen's <tool_call> markup in the content
    parse_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "arguments_text": self.arguments_text,
            "source": self.source,
            "parse_error": self.parse_error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(
            name=str(data["name"]),
            arguments_text=str(data.get("arguments_text", "")),
            arguments=data.get("arguments"),
            id=data.get("id"),
            source=str(data.get("source", "api")),
            parse_error=data.get("parse_error"),
        )


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """A token with its logprob (None for the first prompt token) and, where asked, the top alternatives."""

    text: str
    logprob: float | None
    id: int | None = None
    top: tuple[tuple[str, float], ...] | None = None

    def as_list(self) -> list[Any]:
        top = None if self.top is None else [list(pair) for pair in self.top]
        return [self.text, self.logprob, self.id, top]

    @classmethod
    def from_list(cls, data: list[Any]) -> TokenLogprob:
        text, logprob, token_id, top = (list(data) + [None] * 4)[:4]
        pairs = None if top is None else tuple((str(t), float(lp)) for t, lp in top)
        return cls(str(text), None if logprob is None else float(logprob), token_id, pairs)


@dataclass(slots=True)
class Completion:
    """What became of one request. Times are `time.monotonic()` seconds; durations are ms."""

    request_id: str
    kind: RequestKind
    text: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    logprobs: list[TokenLogprob] | None = None
    prefill: list[TokenLogprob] | None = None
    loglikelihood: float | None = None
    is_greedy: bool | None = None
    continuation_tokens: int | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    ttft_ms: float | None = None
    latency_ms: float | None = None
    itl_ms: list[float] = field(default_factory=list)
    attempts: int = 0
    error: RequestError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @property
    def answer(self) -> str:
        """The text to score: inline `<think>` reasoning removed (an unclosed one leaves no answer)."""
        if self.reasoning is not None and "<think>" not in self.text and "</think>" not in self.text:
            return self.text
        return answer_part(self.text)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def reset(self) -> None:
        """Forget a failed attempt's partial answer before the next one."""
        self.text, self.reasoning, self.tool_calls, self.finish_reason = "", None, [], None
        self.prompt_tokens = self.completion_tokens = None
        self.logprobs = self.prefill = None
        self.loglikelihood = self.is_greedy = self.continuation_tokens = None
        self.ttft_ms = self.latency_ms = None
        self.itl_ms = []
        self.error = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored in predictions and checkpoints (`from_dict` reads it back exactly)."""
        return {
            "request_id": self.request_id,
            "kind": str(self.kind),
            "text": self.text,
            "reasoning": self.reasoning,
            "tool_calls": [call.as_dict() for call in self.tool_calls],
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "logprobs": _tokens_out(self.logprobs),
            "prefill": _tokens_out(self.prefill),
            "loglikelihood": self.loglikelihood,
            "is_greedy": self.is_greedy,
            "continuation_tokens": self.continuation_tokens,
            "ttft_ms": _ms(self.ttft_ms),
            "latency_ms": _ms(self.latency_ms),
            "itl_ms": [round(v, 3) for v in self.itl_ms],
            "attempts": self.attempts,
            "error": None if self.error is None else self.error.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Completion:
        error = data.get("error")
        return cls(
            request_id=str(data["request_id"]),
            kind=RequestKind(data.get("kind", "chat")),
            text=str(data.get("text") or ""),
            reasoning=data.get("reasoning"),
            tool_calls=[ToolCall.from_dict(c) for c in data.get("tool_calls") or ()],
            finish_reason=data.get("finish_reason"),
            prompt_tokens=data.get("prompt_tokens"),
            completion_tokens=data.get("completion_tokens"),
            logprobs=_tokens_in(data.get("logprobs")),
            prefill=_tokens_in(data.get("prefill")),
            loglikelihood=data.get("loglikelihood"),
            is_greedy=data.get("is_greedy"),
            continuation_tokens=data.get("continuation_tokens"),
            ttft_ms=data.get("ttft_ms"),
            latency_ms=data.get("latency_ms"),
            itl_ms=list(data.get("itl_ms") or ()),
            attempts=int(data.get("attempts", 0)),
            error=None if not error else RequestError.from_dict(error),
        )


def _ms(value: float | None) -> float | None:
    """Durations are stored to the microsecond."""
    return None if value is None else round(value, 3)


def _tokens_out(tokens: list[TokenLogprob] | None) -> list[list[Any]] | None:
    return None if tokens is None else [t.as_list() for t in tokens]


def _tokens_in(data: list[list[Any]] | None) -> list[TokenLogprob] | None:
    return None if data is None else [TokenLogprob.from_list(t) for t in data]
