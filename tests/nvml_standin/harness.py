"""Runs evalclient's monitor in a child process whose libnvidia-ml.so.1 is the stand-in; prints one JSON line.

    python tests/nvml_standin/harness.py '{"scenario": "sample", "gpus": [0], "ticks": 5}'

Scenarios: `probe` (probe_gpus); `sample` (one or more NvmlSamplers for a number of ticks, optionally
with a scripted process owner; every query every tick unless `slow_every` says otherwise); `monitor`
(LivePerformanceMonitor with windows of so many ticks, a samples file and optionally a container: scripted
stats or a real Docker container id); `cost` (the sampler's CPU time over a duration, for make bench).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind
from evalclient.engines import get_adapter
from evalclient.monitor import LivePerformanceMonitor
from evalclient.monitor.nvml import NvmlSampler, probe_gpus


class ScriptedOwner:
    """A container whose PIDs are `pids` (None: not known yet); PIDs in `joins` become its own once the
    sampler reports them."""

    def __init__(self, pids: Sequence[int] | None, joins: Sequence[int] = ()) -> None:
        self._pids = None if pids is None else frozenset(pids)
        self.joins = frozenset(joins)
        self.notes: list[list[int]] = []

    def pids(self) -> frozenset[int] | None:
        return self._pids

    def note_unknown_pids(self, pids: frozenset[int]) -> None:
        self.notes.append(sorted(pids))
        if self._pids is not None:
            self._pids |= pids & self.joins


class ScriptedContainer:
    """A ContainerProbe answering scripted Docker documents (the last one repeats)."""

    name = "scripted"

    def __init__(self, stats: Sequence[Mapping[str, Any]], pids: Sequence[int], oom: Sequence[int]) -> None:
        self._stats = list(stats)
        self._pids = frozenset(pids)
        self._oom = list(oom)
        self.looks = 0

    def stats(self) -> Mapping[str, Any]:
        self.looks += 1
        return self._stats[min(self.looks, len(self._stats)) - 1]

    def pids(self) -> frozenset[int]:
        return self._pids

    def oom_events(self, since_unix: float, until_unix: float) -> list[int]:
        return self._oom[: self.looks]


def wait_for(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.001)


def run_samplers(request: Mapping[str, Any]) -> dict[str, Any]:
    specs = request.get("samplers") or [request]
    owners = [ScriptedOwner(**spec["owner"]) if spec.get("owner") else None for spec in specs]
    samplers = [
        NvmlSampler(
            spec["gpus"],
            interval_s=request.get("interval_s", 0.005),
            slow_every=request.get("slow_every", 1),
            owner=owner,
        )
        for spec, owner in zip(specs, owners, strict=True)
    ]
    for sampler in samplers:
        sampler.start()
    ticks = request["ticks"]
    for sampler in samplers:
        wait_for(lambda s=sampler: s.ticks >= ticks or s.thread is None or not s.thread.is_alive())
    for sampler in samplers:
        sampler.stop()
    answers = []
    for sampler, owner in zip(samplers, owners, strict=True):
        answers.append(
            {
                "reason": sampler.reason,
                "field_reasons": sampler.field_reasons(),
                "ticks": sampler.ticks,
                "cpu_s": sampler.cpu_s,
                "thread_alive": sampler.thread is not None and sampler.thread.is_alive(),
                "samples": [dataclasses.asdict(s) for s in sampler.samples()],
                "owner_notes": owner.notes if owner is not None else None,
            }
        )
    return answers[0] if "samplers" not in request else {"samplers": answers}


def records(spec: Mapping[str, Any]) -> list[Completion]:
    return [
        Completion(
            str(i),
            RequestKind.CHAT,
            prompt_tokens=spec["prompt_tokens"],
            completion_tokens=spec["completion_tokens"],
            latency_ms=100.0,
        )
        for i in range(spec["n"])
    ]


async def run_monitor(request: Mapping[str, Any]) -> dict[str, Any]:
    container: Any = None
    spec = request.get("container")
    if spec and "docker" in spec:
        from evalclient.deploy.docker_engine import connect
        from evalclient.monitor.container import DockerContainerProbe

        container = DockerContainerProbe(connect(), spec["docker"])
    elif spec:
        container = ScriptedContainer(spec["stats"], spec["pids"], spec.get("oom", ()))
    monitor = LivePerformanceMonitor(
        metric_names=get_adapter(request.get("engine", "tgi")).metric_names,
        metrics_url=None,
        session=None,
        gpu_indices=request["gpus"],
        max_batch_total_tokens=None,
        interval_s=request.get("interval_s", 0.01),
        container=container,
        container_interval_s=request.get("container_interval_s", 0.05),
        samples_path=Path(request["samples_path"]) if request.get("samples_path") else None,
        run_id=request.get("run_id"),
    )
    await monitor.start()
    lines: list[str | None] = []
    try:
        sampler = monitor._sampler
        assert sampler is not None
        for window in request.get("windows", ()):
            if window.get("gap_ticks"):
                await until(lambda n=sampler.ticks + window["gap_ticks"]: sampler.ticks >= n)
            with monitor.window(window["name"]):
                await until(lambda n=sampler.ticks + window["ticks"]: sampler.ticks >= n)
                if window.get("container_looks") and monitor._containers is not None:
                    looks = monitor._containers.log.count + window["container_looks"]
                    await until(lambda n=looks: monitor._containers.log.count >= n)  # type: ignore[union-attr]
                lines.append(monitor.live_line())
        if request.get("crash"):  # the suite dies: no stop, no final flush
            await asyncio.sleep(request["crash"])
            answer = {"crashed_at": time.monotonic(), "status": monitor.status()}
            print(json.dumps(answer), flush=True)
            os._exit(0)
    finally:
        await monitor.stop()
    return {
        "reports": {
            w["name"]: monitor.performance_metrics(w["name"], records(w.get("records", NO_RECORDS))).to_dict()
            for w in request.get("windows", ())
        },
        "windows": {name: [w.start, w.end] for name, w in monitor.windows.items()},
        "status": monitor.status(),
        "live_lines": lines,
        "rows_in_memory": len(monitor.samples_rows()),
        "threads": [t.name for t in threading.enumerate() if t.name.startswith("evalclient-")],
    }


NO_RECORDS = {"n": 0, "prompt_tokens": 0, "completion_tokens": 0}


async def until(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.001)


def run_cost(request: Mapping[str, Any]) -> dict[str, Any]:
    sampler = NvmlSampler(request["gpus"], interval_s=request["interval_s"])
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    sampler.start()
    time.sleep(request["duration_s"])
    sampler.stop()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    process_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "reason": sampler.reason,
        "ticks": sampler.ticks,
        "cpu_s": sampler.cpu_s,
        "wall_s": wall,
        "process_cpu_s": process_cpu,
        "samples": len(sampler.samples()),
    }


def main() -> None:
    request = json.loads(sys.argv[1])
    scenario = request["scenario"]
    if scenario == "probe":
        answer: dict[str, Any] = dataclasses.asdict(probe_gpus())
    elif scenario == "sample":
        answer = run_samplers(request)
    elif scenario == "monitor":
        answer = asyncio.run(run_monitor(request))
    elif scenario == "cost":
        answer = run_cost(request)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
