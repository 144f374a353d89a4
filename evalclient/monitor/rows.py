"""Raw monitor samples as flat rows (one per GPU reading or /metrics scrape) for metrics/performance/*.csv."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evalclient.monitor.nvml import GpuSample
from evalclient.monitor.server_metrics import ServerSample

ROW_COLUMNS = (
    "t_monotonic",
    "unix_time",
    "window",
    "source",
    "gpu",
    "gpu_utilization_percent",
    "gpu_memory_used_gb",
    "gpu_memory_total_gb",
    "gpu_temperature_c",
    "gpu_power_w",
    "gpu_energy_j",
    "server_running_batch",
    "server_queue_size",
    "server_kv_cache_fraction",
    "server_kv_cache_tokens",
    "server_prompt_tokens_total",
    "server_generation_tokens_total",
)


@dataclass
class Window:
    """A named span of `time.monotonic()` seconds (one per dataset); `end` is None while it is open."""

    name: str
    start: float
    end: float | None = None

    def contains(self, t: float) -> bool:
        return self.start <= t <= (self.end if self.end is not None else float("inf"))


def samples_to_rows(
    gpu: Iterable[GpuSample],
    server: Iterable[ServerSample],
    windows: Sequence[Window],
    clock_anchor: tuple[float, float],
) -> list[dict[str, Any]]:
    """Rows in time order, every row with all `ROW_COLUMNS` (None where a column does not apply).

    `clock_anchor` is a (time.monotonic(), time.time()) pair taken together, to add a wall-clock column.
    """
    mono, wall = clock_anchor
    rows = [_gpu_row(s) for s in gpu] + [_server_row(s) for s in server]
    rows.sort(key=lambda r: (r["t_monotonic"], r["source"], r["gpu"] if r["gpu"] is not None else -1))
    for row in rows:
        t = row["t_monotonic"]
        row["unix_time"] = wall + (t - mono)
        row["window"] = next((w.name for w in windows if w.contains(t)), None)
    return [{col: row.get(col) for col in ROW_COLUMNS} for row in rows]


def _gpu_row(s: GpuSample) -> dict[str, Any]:
    return {
        "t_monotonic": s.t,
        "source": "gpu",
        "gpu": s.gpu,
        "gpu_utilization_percent": s.utilization_percent,
        "gpu_memory_used_gb": s.memory_used_gb,
        "gpu_memory_total_gb": s.memory_total_gb,
        "gpu_temperature_c": s.temperature_c,
        "gpu_power_w": s.power_w,
        "gpu_energy_j": s.energy_j,
    }


def _server_row(s: ServerSample) -> dict[str, Any]:
    return {
        "t_monotonic": s.t,
        "source": "server",
        "gpu": None,
        "server_running_batch": s.running_batch,
        "server_queue_size": s.queue_size,
        "server_kv_cache_fraction": s.kv_cache_fraction,
        "server_kv_cache_tokens": s.kv_cache_tokens,
        "server_prompt_tokens_total": s.prompt_tokens_total,
        "server_generation_tokens_total": s.generation_tokens_total,
    }
