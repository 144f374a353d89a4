"""Container stats: Docker's documents (shapes recorded from a Docker 20.10 engine, cgroup v1, and from cgroup
v2) into CPU %, memory and OOM counts; the container sampler and its place in the monitor's report."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.engines import get_adapter
from evalclient.monitor import LivePerformanceMonitor
from evalclient.monitor.aggregate import ContainerSource, GpuSource, ServerSource, build_report
from evalclient.monitor.container import ContainerSample, ContainerSampler
from evalclient.monitor.container_stats import (
    cpu_percent,
    memory_limit_bytes,
    memory_used_bytes,
    online_cpus,
    pids_from_top,
)

MB = 1_000_000


def one_shot(
    total_ns: int, system_ns: int, usage: int, *, cgroup: int = 1, online: int | None = 4
) -> dict[str, Any]:
    """A `stats(stream=False, one_shot=True)` document: precpu_stats left empty, as the engine sends it."""
    inactive = (
        {"total_inactive_file": 20 * MB, "inactive_file": 20 * MB}
        if cgroup == 1
        else {"inactive_file": 30 * MB}
    )
    cpu: dict[str, Any] = {
        "cpu_usage": {"total_usage": total_ns, "percpu_usage": [total_ns // 2, total_ns - total_ns // 2]},
        "system_cpu_usage": system_ns,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }
    if online is not None:
        cpu["online_cpus"] = online
    return {
        "cpu_stats": cpu,
        "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {"periods": 0}},
        "memory_stats": {"usage": usage, "stats": inactive, "limit": 64 * 1024 * MB // 1000},
    }


def test_cpu_percent_as_docker_stats_computes_it() -> None:
    first = one_shot(1_000_000_000, 100_000_000_000, 500 * MB)
    second = one_shot(1_500_000_000, 102_000_000_000, 500 * MB)
    assert cpu_percent(first, None) is None  # no baseline yet
    assert cpu_percent(second, first) == 100.0  # 0.5 s of CPU in 2 s of 4 CPUs' time × 4 CPUs
    streamed = {**second, "precpu_stats": first["cpu_stats"]}  # a two-sample document: its own baseline
    assert cpu_percent(streamed, None) == 100.0
    assert online_cpus(one_shot(1, 1, 1, online=None)["cpu_stats"]) == 2  # from percpu_usage
    stopped = {"cpu_stats": {"cpu_usage": {"total_usage": 0}}, "precpu_stats": {}, "memory_stats": {}}
    assert cpu_percent(stopped, second) is None
    assert memory_used_bytes(stopped) is None


def test_memory_less_inactive_page_cache() -> None:
    assert memory_used_bytes(one_shot(1, 1, 500 * MB, cgroup=1)) == 480 * MB
    assert memory_used_bytes(one_shot(1, 1, 500 * MB, cgroup=2)) == 470 * MB
    assert memory_limit_bytes(one_shot(1, 1, 500 * MB)) == 65_536 * MB // 1000


def test_pids_from_top() -> None:
    top = {
        "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "Processes": [
            ["root", "1997", "1977", "0", "05:20", "?", "00:00:00", "sh -c sleep 30"],
            ["root", "2011", "1997", "0", "05:20", "?", "00:00:00", "sleep 30"],
        ],
    }
    assert pids_from_top(top) == frozenset({1997, 2011})
    assert pids_from_top({"Titles": ["PID"], "Processes": [["4426"], ["x"]]}) == frozenset({4426})
    assert pids_from_top({}) == frozenset()


class ScriptedContainer:
    """Scripted Docker answers: successive stats documents (the last repeats), OOM events that have happened
    by each look; `fail` makes stats raise."""

    name = "evalclient-test"

    def __init__(self, stats: Sequence[Mapping[str, Any]], oom: Sequence[Sequence[int]] = ((),)) -> None:
        self._stats = list(stats)
        self._oom = [list(o) for o in oom]
        self.looks = 0
        self.fail: Exception | None = None
        self.gate: threading.Event | None = None

    def stats(self) -> Mapping[str, Any]:
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        self.looks += 1
        return self._stats[min(self.looks, len(self._stats)) - 1]

    def pids(self) -> frozenset[int]:
        return frozenset({1997, 2011})

    def oom_events(self, since_unix: float, until_unix: float) -> list[int]:
        return self._oom[min(self.looks, len(self._oom)) - 1]  # the engine repeats events at the boundary


DOCS = [
    one_shot(1_000_000_000 + 500_000_000 * k, 100_000_000_000 + 2_000_000_000 * k, (500 + k) * MB)
    for k in range(6)
]


def run_sampler(container: ScriptedContainer, looks: int) -> ContainerSampler:
    sampler = ContainerSampler(container, interval_s=0.005, pid_interval_s=0.005)
    sampler.start()
    try:
        deadline = time.monotonic() + 10
        while sampler.log.count < looks and sampler.failures < looks:
            assert time.monotonic() < deadline, "the sampler did not look in time"
            time.sleep(0.002)
    finally:
        sampler.request_stop()
        assert sampler.thread is not None
        sampler.thread.join(5)
    return sampler


def test_sampler_cpu_memory_and_oom_counts() -> None:
    container = ScriptedContainer(DOCS, oom=[[], [111], [111, 222], [222]])
    samples = run_sampler(container, 4).samples()[:4]
    assert [s.cpu_percent for s in samples] == [None, 100.0, 100.0, 100.0]
    assert [s.memory_used_gb for s in samples] == [0.48, 0.481, 0.482, 0.483]
    assert [s.memory_limit_gb for s in samples] == [0.065536] * 4
    assert [s.oom_events for s in samples] == [0, 1, 2, 2]  # an event seen twice counts once
    assert {s.processes for s in samples} == {2}


def test_sampler_failures_are_counted_not_raised() -> None:
    container = ScriptedContainer(DOCS)
    container.fail = ConnectionError("engine gone")
    sampler = run_sampler(container, 3)
    assert sampler.samples() == []
    assert sampler.failures >= 3
    assert sampler.reason() == (
        f"container stats unavailable ({sampler.failures} failed looks; last: ConnectionError: engine gone)"
    )


def test_report_counts_oom_events_from_before_the_window() -> None:
    samples = [
        ContainerSample(t, cpu, mem, 64.0, oom, 3)
        for t, cpu, mem, oom in [
            (99.0, None, 1.0, 1),  # before the window: one OOM already
            (100.0, 150.0, 2.0, 1),
            (101.0, 250.0, 6.5, 2),
            (102.0, 200.0, 3.0, 3),
            (103.0, 900.0, 9.0, 9),  # after the window
        ]
    ]
    report = build_report(100.0, 102.0, [], GpuSource([], []), ServerSource([]), ContainerSource(samples))
    m = report.metrics
    assert (m["container_cpu_percent"], m["container_memory_peak_gb"], m["container_oom_events"]) == (
        200.0,
        6.5,
        2,
    )
    none = build_report(
        100.0, 102.0, [], GpuSource([], []), ServerSource([]), ContainerSource([], "no container")
    )
    assert none.unavailable["container_oom_events"] == "no container"


async def test_monitor_reports_container_figures_without_a_gpu() -> None:
    container = ScriptedContainer(DOCS, oom=[[], [], [7]])
    monitor = LivePerformanceMonitor(
        metric_names=get_adapter("vllm").metric_names,
        metrics_url=None,
        session=None,
        gpu_indices=[],
        max_batch_total_tokens=None,
        container=container,
        container_interval_s=0.005,
    )
    await monitor.start()
    try:
        with monitor.window("gsm8k"):
            async with asyncio.timeout(10):
                while monitor.status()["container_samples"] < 4:  # noqa: ASYNC110 (a thread's counter)
                    await asyncio.sleep(0.002)
    finally:
        await monitor.stop()
    report = monitor.performance_metrics("gsm8k", [])
    inside = [s for s in monitor._containers.samples() if monitor.windows["gsm8k"].contains(s.t)]  # type: ignore[union-attr]
    assert report.metrics["container_cpu_percent"] == 100.0  # each look after the first: 100 % exactly
    assert {s.cpu_percent for s in inside} - {None} == {100.0}
    assert report.metrics["container_memory_peak_gb"] == max(s.memory_used_gb or 0 for s in inside)
    assert report.metrics["container_oom_events"] == 1
    status = monitor.status()
    assert (status["container"], status["container_oom_events"], status["container_unavailable"]) == (
        "evalclient-test",
        1,
        None,
    )
    assert report.unavailable["gpu_utilization_percent"].startswith(
        ("no NVIDIA GPU visible", "no GPU assigned")
    )
