"""The simulator's settings: TGI's launcher limits plus the latency model, the rules and the faults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .profiles import DEFAULT_PROFILE, PROFILES, max_tokens_per_second

DEFAULT_MODEL_ID = "bigscience/bloom-560m"
TGI_LIMITS = "tgi-3.3.7"
DEFAULT_MAX_TOTAL_TOKENS = 4096


class SimConfigError(ValueError):
    """Settings that contradict each other (the message is one line, in the launcher's words)."""


@dataclass(frozen=True)
class SimConfig:
    """Everything the server needs; build it with `SimConfig.for_profile` to get a profile's numbers."""

    model_id: str = DEFAULT_MODEL_ID
    revision: str | None = None
    hostname: str = "127.0.0.1"
    port: int = 8080
    dtype: str | None = None
    quantize: str | None = None
    max_concurrent_requests: int = 128
    max_best_of: int = 2
    max_stop_sequences: int = 4
    max_top_n_tokens: int = 5
    validation_workers: int = 2
    max_client_batch_size: int = 4
    max_input_tokens: int = DEFAULT_MAX_TOTAL_TOKENS - 1
    max_total_tokens: int = DEFAULT_MAX_TOTAL_TOKENS
    max_batch_prefill_tokens: int = DEFAULT_MAX_TOTAL_TOKENS + 49
    max_batch_total_tokens: int = PROFILES[DEFAULT_PROFILE].max_batch_total_tokens
    profile: str = DEFAULT_PROFILE
    slots: int = PROFILES[DEFAULT_PROFILE].slots
    decode_step_ms: float = PROFILES[DEFAULT_PROFILE].decode_step_ms
    prefill_ms_per_token: float = PROFILES[DEFAULT_PROFILE].prefill_ms_per_token
    startup_delay: float = 0.0
    fault_503_first: int = 0
    fault_stream_error_every: int = 0
    crash_after: int = 0
    fault_oom_after: int = 0
    """After this many answered requests, allocate memory until the container's limit kills the process."""
    log_requests: bool = False
    """Print each generation request's text (the rules' match text) to stdout, one JSON string a line."""
    exit_with_parent: bool = False
    """Exit when the parent process is gone (the local stand-in for a container)."""
    prefill_logprobs: bool = False
    no_prefill_logprobs: bool = False
    """Fault: never return prefill logprobs, whatever the launcher flags say (an engine without them)."""
    """TGI >= 3.0 returns prefill logprobs only when launched with --enable-prefill-logprobs."""
    payload_limit: int = 2_000_000
    """The largest request body in bytes; larger ones get HTTP 413 (TGI 3.3.7: the launcher's
    `--payload-limit`, default 2000000, launcher/src/main.rs; the router's axum DefaultBodyLimit)."""
    launcher_args: dict[str, Any] = field(default_factory=dict)
    engine_limits: str = TGI_LIMITS
    """Whose refusals and limits the simulator enforces: TGI 3.3.7's (sim/tgi_models.py: the models it
    cannot start, its missing chat templates, one tool call per turn, the ignored --max-batch-total-tokens),
    or "none" for a lenient OpenAI-compatible server (any model, several tool calls)."""

    @property
    def tgi(self) -> bool:
        """Whether TGI 3.3.7's limits apply."""
        return self.engine_limits == TGI_LIMITS

    @classmethod
    def for_profile(cls, name: str = DEFAULT_PROFILE, **overrides: Any) -> SimConfig:
        """The profile's slots, step times and budget, then `overrides` (any field), limits checked."""
        if name not in PROFILES:
            raise SimConfigError(f"unknown profile {name!r}; choose one of {', '.join(sorted(PROFILES))}")
        prof = PROFILES[name]
        base: dict[str, Any] = {
            "profile": name,
            "slots": prof.slots,
            "decode_step_ms": prof.decode_step_ms,
            "prefill_ms_per_token": prof.prefill_ms_per_token,
            "max_batch_total_tokens": prof.max_batch_total_tokens,
        }
        base.update(_derived_lengths(overrides))
        base.update(overrides)
        config = cls(**base)
        config.check()
        return config

    @property
    def max_tokens_per_second(self) -> float:
        """Decode throughput with every slot busy."""
        return max_tokens_per_second(self.slots, self.decode_step_ms)

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with `changes` applied (limits checked)."""
        config = dataclasses.replace(self, **changes)
        config.check()
        return config

    def check(self) -> None:
        """Raise SimConfigError where the limits contradict each other, as TGI's launcher refuses them."""
        for name in ("max_concurrent_requests", "max_input_tokens", "max_total_tokens", "slots"):
            if getattr(self, name) < 1:
                raise SimConfigError(f"`{name}` must be > 0. Given: {getattr(self, name)}")
        if self.decode_step_ms <= 0 or self.prefill_ms_per_token < 0:
            raise SimConfigError("decode step time must be > 0 and prefill time per token >= 0")
        if self.max_input_tokens >= self.max_total_tokens:
            raise SimConfigError(
                f"`max_input_tokens`({self.max_input_tokens}) must be < "
                f"`max_total_tokens`({self.max_total_tokens})"
            )
        if self.max_batch_prefill_tokens < self.max_input_tokens:
            raise SimConfigError(
                f"`max_batch_prefill_tokens` must be >= `max_input_tokens`. Given: "
                f"{self.max_batch_prefill_tokens} and {self.max_input_tokens}"
            )
        if self.max_batch_total_tokens < self.max_total_tokens:
            raise SimConfigError(
                f"`max_total_tokens` must be <= `max_batch_total_tokens`. Given: "
                f"{self.max_total_tokens} and {self.max_batch_total_tokens}"
            )


def _derived_lengths(overrides: dict[str, Any]) -> dict[str, int]:
    """TGI's defaults for the length limits that `overrides` leaves out, derived from those it sets."""
    total = overrides.get("max_total_tokens")
    max_input = overrides.get("max_input_tokens")
    if total is None:
        total = (
            DEFAULT_MAX_TOTAL_TOKENS if max_input is None else max(max_input + 1, DEFAULT_MAX_TOTAL_TOKENS)
        )
    if max_input is None:
        max_input = total - 1
    derived = {"max_total_tokens": total, "max_input_tokens": max_input}
    derived["max_batch_prefill_tokens"] = max_input + 50
    return derived
