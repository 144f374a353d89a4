"""Raw monitor samples as flat rows for metrics/performance/*.csv: one per GPU reading, /metrics scrape or
container look, every row with all `ROW_COLUMNS` (empty where a column does not apply)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evalclient.monitor.container import ContainerSample
from evalclient.monitor.nvml import GpuSample
from evalclient.monitor.nvml_device import describe_event_reasons
from evalclient.monitor.server_metrics import ServerSample

ROW_COLUMNS = (
    "run_id",
    "t_monotonic",
    "unix_time",
    "window",
    "source",
    "gpu",
    "gpu_utilization_percent",
    "gpu_memory_used_gb",
    "gpu_memory_total_gb",
    "gpu_deployment_memory_gb",
    "gpu_temperature_c",
    "gpu_power_w",
    "gpu_energy_j",
    "gpu_sm_clock_mhz",
    "gpu_memory_clock_mhz",
    "gpu_clocks_event_reasons",
    "gpu_processes",
    "gpu_errors",
    "server_running_batch",
    "server_queue_size",
    "server_kv_cache_fraction",
    "server_kv_cache_tokens",
    "server_kv_budget_tokens",
    "server_prompt_tokens_total",
    "server_generation_tokens_total",
    "container_cpu_percent",
    "container_memory_used_gb",
    "container_memory_limit_gb",
    "container_oom_events",
    "container_processes",
)

Sample = GpuSample | ServerSample | ContainerSample


@dataclass
class Window:
    """A named span of `time.monotonic()` seconds (one per dataset); `end` is None while it is open."""

    name: str
    start: float
    end: float | None = None

    def contains(self, t: float) -> bool:
        return self.start <= t <= (self.end if self.end is not None else float("inf"))


def samples_to_rows(
    samples: Iterable[Sample],
    windows: Sequence[Window],
    clock_anchor: tuple[float, float],
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Rows in time order (GPU, then server, then container rows at equal times).

    `clock_anchor` is a (time.monotonic(), time.time()) pair taken together, to add a wall-clock column.
    """
    mono, wall = clock_anchor
    rows = [_row(s) for s in samples]
    order = {"gpu": 0, "server": 1, "container": 2}
    rows.sort(key=lambda r: (r["t_monotonic"], order[r["source"]], r["gpu"] if r["gpu"] is not None else -1))
    for row in rows:
        t = row["t_monotonic"]
        row["run_id"] = run_id
        row["unix_time"] = wall + (t - mono)
        row["window"] = next((w.name for w in windows if w.contains(t)), None)
    return [{col: row.get(col) for col in ROW_COLUMNS} for row in rows]


def _row(s: Sample) -> dict[str, Any]:
    if isinstance(s, GpuSample):
        return _gpu_row(s)
    if isinstance(s, ServerSample):
        return _server_row(s)
    return _container_row(s)


def _gpu_row(s: GpuSample) -> dict[str, Any]:
    processes = None
    if s.processes is not None:
        processes = " ".join(
            f"{p.pid}:{'na' if p.used_bytes is None else round(p.used_bytes / 1e9, 6)}" for p in s.processes
        )
    return {
        "t_monotonic": s.t,
        "source": "gpu",
        "gpu": s.gpu,
        "gpu_utilization_percent": s.utilization_percent,
        "gpu_memory_used_gb": s.memory_used_gb,
        "gpu_memory_total_gb": s.memory_total_gb,
        "gpu_deployment_memory_gb": s.deployment_memory_gb,
        "gpu_temperature_c": s.temperature_c,
        "gpu_power_w": s.power_w,
        "gpu_energy_j": s.energy_j,
        "gpu_sm_clock_mhz": s.sm_clock_mhz,
        "gpu_memory_clock_mhz": s.memory_clock_mhz,
        "gpu_clocks_event_reasons": describe_event_reasons(s.clocks_event_reasons),
        "gpu_processes": processes,
        "gpu_errors": "; ".join(f"{name}: {why}" for name, why in s.errors) or None,
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
        "server_kv_budget_tokens": s.kv_budget_tokens,
        "server_prompt_tokens_total": s.prompt_tokens_total,
        "server_generation_tokens_total": s.generation_tokens_total,
    }


def _container_row(s: ContainerSample) -> dict[str, Any]:
    return {
        "t_monotonic": s.t,
        "source": "container",
        "gpu": None,
        "container_cpu_percent": s.cpu_percent,
        "container_memory_used_gb": s.memory_used_gb,
        "container_memory_limit_gb": s.memory_limit_gb,
        "container_oom_events": s.oom_events,
        "container_processes": s.processes,
    }
