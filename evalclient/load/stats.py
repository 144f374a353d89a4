"""One load step's figures: counts, rates, latency percentiles of the successful requests, and goodput.

Failed requests never enter the latency statistics; they are counted apart. Goodput is the share (and rate)
of requests that met every latency target given: TTFT, mean inter-token latency (time per output token
after the first) and end-to-end latency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalclient.client.completion import Completion
from evalclient.monitor.stats import mean, percentile

PERCENTILES = (50, 90, 99)
SLO_KEYS = ("ttft_ms", "itl_ms", "e2e_ms")


@dataclass(frozen=True)
class Step:
    """What one step of the probe sent and got back."""

    label: str
    concurrency: int | None
    rate: float | None
    completions: Sequence[Completion]
    wall_s: float


def step_figures(step: Step, slo: Mapping[str, float]) -> dict[str, Any]:
    """The step's row of the report."""
    ok = [c for c in step.completions if c.ok]
    generated = [c.completion_tokens for c in ok]
    figures: dict[str, Any] = {
        "step": step.label,
        "concurrency": step.concurrency,
        "rate_per_s": step.rate,
        "requests": len(step.completions),
        "errors": len(step.completions) - len(ok),
        "wall_s": step.wall_s,
        "requests_per_s": len(ok) / step.wall_s if step.wall_s > 0 else None,
        "output_tokens_per_s": (
            sum(g for g in generated if g is not None) / step.wall_s
            if step.wall_s > 0 and generated and all(g is not None for g in generated)
            else None
        ),
        "mean_output_tokens": mean(g for g in generated if g is not None),
        "mean_prompt_tokens": mean(c.prompt_tokens for c in ok if c.prompt_tokens is not None),
    }
    series = {
        "ttft_ms": [c.ttft_ms for c in ok if c.ttft_ms is not None],
        "itl_ms": [v for c in ok for v in c.itl_ms],
        "e2e_ms": [c.latency_ms for c in ok if c.latency_ms is not None],
    }
    for name, values in series.items():
        for q in PERCENTILES:
            figures[f"{name}_p{q}"] = percentile(values, q)
    if slo:
        good = sum(1 for c in ok if meets(c, slo))
        total = len(step.completions)
        figures["goodput_share"] = good / total if total else None
        figures["goodput_per_s"] = good / step.wall_s if step.wall_s > 0 else None
    return figures


def meets(completion: Completion, slo: Mapping[str, float]) -> bool:
    """Whether one successful request met every target given."""
    values = {
        "ttft_ms": completion.ttft_ms,
        "itl_ms": mean(completion.itl_ms),
        "e2e_ms": completion.latency_ms,
    }
    for key, limit in slo.items():
        value = values[key]
        if value is not None and value > limit:
            return False
        if value is None and key != "itl_ms":
            return False
    return True
