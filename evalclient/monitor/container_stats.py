"""Pure functions over the Docker Engine API's documents: CPU % and memory from `stats`, PIDs from `top`.

CPU % is computed as `docker stats` computes it: the container's CPU time delta over the host's CPU time
delta, times the online CPUs, times 100 (so 200 % is two cores busy). The delta is taken against the
document's own `precpu_stats` when the engine filled it, else against the previous one-shot document.
Memory used is the cgroup's usage less its inactive page cache (`total_inactive_file` under cgroup v1,
`inactive_file` under v2), as `docker stats` shows it; the limit is the cgroup's (the host's memory when
the container has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BYTES_PER_GB = 1e9


def _cpu_times(cpu: Mapping[str, Any]) -> tuple[int, int] | None:
    """(container CPU ns, host CPU ns) of one `cpu_stats` block; None when the engine left it empty."""
    total = (cpu.get("cpu_usage") or {}).get("total_usage")
    system = cpu.get("system_cpu_usage")
    if not isinstance(total, int) or not isinstance(system, int) or system <= 0:
        return None
    return total, system


def online_cpus(cpu: Mapping[str, Any]) -> int:
    online = cpu.get("online_cpus")
    if isinstance(online, int) and online > 0:
        return online
    return len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1


def cpu_percent(stats: Mapping[str, Any], previous: Mapping[str, Any] | None) -> float | None:
    """The container's CPU use in % of one core since `precpu_stats` (or `previous`); None without a base."""
    now = _cpu_times(stats.get("cpu_stats") or {})
    base = _cpu_times(stats.get("precpu_stats") or {})
    if base is None and previous is not None:
        base = _cpu_times(previous.get("cpu_stats") or {})
    if now is None or base is None:
        return None
    cpu_delta, system_delta = now[0] - base[0], now[1] - base[1]
    if system_delta <= 0 or cpu_delta < 0:
        return None
    return cpu_delta / system_delta * online_cpus(stats["cpu_stats"]) * 100.0


def memory_used_bytes(stats: Mapping[str, Any]) -> int | None:
    """Usage less inactive page cache, as `docker stats` reports it; None for a stopped container."""
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if not isinstance(usage, int):
        return None
    detail = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):  # cgroup v1, then v2
        inactive = detail.get(key)
        if isinstance(inactive, int) and inactive < usage:
            return usage - inactive
    return usage


def memory_limit_bytes(stats: Mapping[str, Any]) -> int | None:
    limit = (stats.get("memory_stats") or {}).get("limit")
    return limit if isinstance(limit, int) and limit > 0 else None


def pids_from_top(top: Mapping[str, Any]) -> frozenset[int]:
    """The PIDs of a `top` answer (`Titles` and `Processes`), which the engine reports as host PIDs."""
    titles = list(top.get("Titles") or ())
    if "PID" not in titles:
        return frozenset()
    column = titles.index("PID")
    pids = set()
    for row in top.get("Processes") or ():
        try:
            pids.add(int(row[column]))
        except (IndexError, ValueError):
            continue
    return frozenset(pids)
