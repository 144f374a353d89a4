"""Named latency profiles of the simulator: batch slots, step times and the token budget they imply."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """A latency model: `slots` sequences decode together, one token each per `decode_step_ms`."""

    name: str
    slots: int
    decode_step_ms: float
    prefill_ms_per_token: float
    max_batch_total_tokens: int
    description: str

    @property
    def max_tokens_per_second(self) -> float:
        """Decode throughput with every slot busy."""
        return max_tokens_per_second(self.slots, self.decode_step_ms)


def max_tokens_per_second(slots: int, decode_step_ms: float) -> float:
    """The ceiling of generated tokens per second: every slot yields one token per decode step."""
    return slots * 1000.0 / decode_step_ms


PROFILES: dict[str, Profile] = {
    "fast": Profile(
        name="fast",
        slots=8,
        decode_step_ms=1.0,
        prefill_ms_per_token=0.001,
        max_batch_total_tokens=1_000_000,
        description="for tests: 1 ms decode steps, 8 slots (8000 tokens/s)",
    ),
    "demo": Profile(
        name="demo",
        slots=16,
        decode_step_ms=10.0,
        prefill_ms_per_token=0.02,
        max_batch_total_tokens=131_072,
        description="for demos: visible streaming, 16 slots x 100 tokens/s (1600 tokens/s)",
    ),
    "h100-8b": Profile(
        name="h100-8b",
        slots=64,
        decode_step_ms=22.0,
        prefill_ms_per_token=0.08,
        max_batch_total_tokens=262_144,
        description="an 8B bf16 model on one H100: 64 slots, 22 ms steps (about 2900 tokens/s)",
    ),
}

DEFAULT_PROFILE = "demo"
