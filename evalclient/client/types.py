"""Engine-neutral request and record types shared by the client, the tasks and the monitor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GenerationRequest:
    """One chat request to send: the task builds it, the client sends it."""

    id: str
    messages: tuple[dict[str, str], ...]
    max_tokens: int = 512
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass
class RequestRecord:
    """What happened to one request: the answer, its timings and token counts as the server counted them.

    Times are `time.monotonic()` seconds (comparable with the monitor's windows); durations are in ms.
    """

    id: str
    response: str = ""
    reasoning: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    ttft_ms: float | None = None
    latency_ms: float | None = None
    itl_ms: list[float] = field(default_factory=list)
    retries: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
