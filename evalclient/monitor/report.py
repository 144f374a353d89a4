"""`PerformanceReport`: one window's performance_metrics (DESIGN §5), each a number or null + reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Value = float | int | None

# Every field of performance_metrics with its unit; the order is the order of the JSON and CSV columns.
FIELD_UNITS: dict[str, str] = {
    "gpu_utilization_percent": "% (NVML utilization, mean over samples and GPUs)",
    "gpu_memory_used_gb": "GB (1e9 bytes, summed over GPUs, mean over samples)",
    "gpu_memory_peak_gb": "GB (max over samples of the sum over GPUs)",
    "gpu_memory_total_gb": "GB (summed over GPUs)",
    "gpu_memory_deployment_gb": "GB (the deployment's own processes on its GPUs, summed; mean over samples)",
    "gpu_memory_deployment_peak_gb": "GB (max over samples of the deployment's own processes' GPU memory)",
    "gpu_temperature_c": "°C (mean over samples and GPUs)",
    "gpu_temperature_max_c": "°C (max over samples and GPUs)",
    "throughput_tokens_per_second": "generated tokens / s of window wall time",
    "avg_latency_ms": "ms (mean end-to-end latency of successful requests)",
    "memory_efficiency": "fraction 0–1 of the server's KV-cache budget in use (mean)",
    "inference_batch_size": "requests (mean running batch reported by the server)",
    "context_length_avg": "tokens (mean server-counted prompt tokens)",
    "total_tokens_processed": "tokens (prompt + completion, server-counted)",
    "ttft_ms_p50": "ms",
    "ttft_ms_p90": "ms",
    "ttft_ms_p99": "ms",
    "itl_ms_p50": "ms",
    "itl_ms_p90": "ms",
    "itl_ms_p99": "ms",
    "e2e_latency_ms_p50": "ms",
    "e2e_latency_ms_p90": "ms",
    "e2e_latency_ms_p99": "ms",
    "request_throughput_per_second": "successful requests / s",
    "power_w_mean": "W (summed over GPUs, mean over samples)",
    "energy_j": "J (summed over GPUs)",
    "energy_j_per_generated_token": "J / generated token",
    "container_cpu_percent": "% of one core (the server container's CPU use, mean over samples)",
    "container_memory_peak_gb": "GB (the server container's memory less page cache, max over samples)",
    "container_oom_events": "count (out-of-memory kills inside the server container in the window)",
    "num_requests": "count",
    "num_errors": "count",
    "num_retries": "count",
    "window_s": "s",
}
PERFORMANCE_FIELDS: tuple[str, ...] = tuple(FIELD_UNITS)


@dataclass
class PerformanceReport:
    """Metrics of one window; a `None` metric always has its reason in `unavailable` (never 0 for unknown)."""

    metrics: dict[str, Value] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in PERFORMANCE_FIELDS:
            self.metrics.setdefault(name, None)
        for name, value in self.metrics.items():
            if value is None:
                self.unavailable.setdefault(name, "not measured")
            else:
                self.unavailable.pop(name, None)

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON form: every metric by name, plus `unavailable` {field: reason}."""
        return {**self.metrics, "unavailable": dict(self.unavailable)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerformanceReport:
        metrics = {k: v for k, v in data.items() if k != "unavailable"}
        return cls(metrics, dict(data.get("unavailable") or {}))
