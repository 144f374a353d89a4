"""The one-line live view of a deployment for the progress display: each GPU, then the server's batch.

    GPU0 87% 61.2/80.0 GB 412 W · GPU1 85% 60.9/80.0 GB 398 W · batch 12 · 1,234 tok/s

Tokens per second are the rate of the server's generated-token counter between the latest scrape and one
at least `RATE_SPAN_S` earlier. A figure that is not known is left out, never shown as 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from evalclient.monitor.nvml import GpuSample
from evalclient.monitor.server_metrics import ServerSample

RATE_SPAN_S = 1.0


def gpu_part(s: GpuSample) -> str:
    parts = [f"GPU{s.gpu}"]
    if s.utilization_percent is not None:
        parts.append(f"{s.utilization_percent:.0f}%")
    if s.memory_used_gb is not None and s.memory_total_gb is not None:
        parts.append(f"{s.memory_used_gb:.1f}/{s.memory_total_gb:.1f} GB")
    if s.power_w is not None:
        parts.append(f"{s.power_w:.0f} W")
    if len(parts) == 1:
        parts.append("no reading")
    return " ".join(parts)


def tokens_per_second(server: Sequence[ServerSample]) -> float | None:
    """The generated-token counter's rate over the latest span of at least RATE_SPAN_S; None if unknown."""
    counted = [(s.t, s.generation_tokens_total) for s in server if s.generation_tokens_total is not None]
    if len(counted) < 2:
        return None
    t1, n1 = counted[-1]
    earlier = [(t, n) for t, n in counted[:-1] if t1 - t >= RATE_SPAN_S]
    if not earlier:
        return None
    t0, n0 = earlier[-1]
    return (n1 - n0) / (t1 - t0) if n1 >= n0 else None  # a counter that went back: the server restarted


def format_live_line(gpus: Sequence[GpuSample], server: Sequence[ServerSample]) -> str | None:
    """The line for the latest GPU tick and the recent /metrics samples; None when there is nothing."""
    parts = [gpu_part(s) for s in sorted(gpus, key=lambda s: s.gpu)]
    if server:
        batch = server[-1].running_batch
        if batch is not None:
            parts.append(f"batch {batch:.0f}")
        rate = tokens_per_second(server)
        if rate is not None:
            parts.append(f"{rate:,.0f} tok/s")
    return " · ".join(parts) or None
