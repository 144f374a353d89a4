"""Per-deployment GPU memory: NVML's running compute processes (scripted in the stand-in driver) matched to
the PIDs of each deployment's container; and how the container sampler keeps those PIDs current."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nvml_standin import Script, err, gpu_samples, memory, processes, run_harness

from evalclient.monitor.aggregate import GpuSource, ServerSource, build_report
from evalclient.monitor.container import ContainerSampler
from evalclient.monitor.nvml import OWNER_UNKNOWN

GB = 1_000_000_000
SHARED = processes((1001, 8 * GB), (1002, 2 * GB), (2001, 30 * GB))  # deployment A: 1001, 1002; B: 2001


def shared_gpu(procs: list[str]) -> Script:
    return Script(1).gpu(
        0,
        memory=[memory(80 * GB, GB // 2, 40 * GB)],
        utilization=["90/40"],
        power=[400_000],
        energy=[1_000_000],
        processes=procs,
    )


def test_two_deployments_on_one_gpu_each_get_their_own_memory(standin_lib: Path, tmp_path: Path) -> None:
    request = {
        "scenario": "sample",
        "ticks": 3,
        "samplers": [
            {"gpus": [0], "owner": {"pids": [1001, 1002]}},
            {"gpus": [0], "owner": {"pids": [2001]}},
        ],
    }
    answer = run_harness(standin_lib, shared_gpu([SHARED]), request, tmp_path)
    reports = []
    for sampler in answer["samplers"]:
        samples = gpu_samples(sampler["samples"])
        source = GpuSource(samples, [0], sampler["reason"], sampler["field_reasons"])
        reports.append(build_report(samples[0].t, samples[-1].t, [], source, ServerSource([])).metrics)
    a, b = reports
    assert (a["gpu_memory_deployment_gb"], a["gpu_memory_deployment_peak_gb"]) == (10.0, 10.0)
    assert (b["gpu_memory_deployment_gb"], b["gpu_memory_deployment_peak_gb"]) == (30.0, 30.0)
    assert a["gpu_memory_used_gb"] == b["gpu_memory_used_gb"] == 40.0  # the whole GPU, for both


def test_a_process_the_server_spawns_later_is_attributed_once_known(
    standin_lib: Path, tmp_path: Path
) -> None:
    later = processes((1001, 8 * GB), (1003, 4 * GB), (2001, 30 * GB))
    request = {"scenario": "sample", "gpus": [0], "ticks": 4, "owner": {"pids": [1001], "joins": [1003]}}
    answer = run_harness(standin_lib, shared_gpu([SHARED, later]), request, tmp_path)
    own = [s.deployment_memory_gb for s in gpu_samples(answer["samples"])]
    # tick 0: only 1001 is ours; tick 1: 1003 appears, unknown when read; from tick 2 it counts
    assert own[:4] == [8.0, 8.0, 12.0, 12.0]
    assert answer["owner_notes"][:3] == [[1002, 2001], [1003, 2001], [2001]]


def test_per_process_memory_not_available(standin_lib: Path, tmp_path: Path) -> None:
    procs = processes((1001, None), (2001, 30 * GB))
    request = {"scenario": "sample", "gpus": [0], "ticks": 2, "owner": {"pids": [1001]}}
    answer = run_harness(standin_lib, shared_gpu([procs]), request, tmp_path)
    samples = gpu_samples(answer["samples"])
    assert {s.deployment_memory_gb for s in samples} == {None}
    report = build_report(samples[0].t, samples[-1].t, [], GpuSource(samples, [0]), ServerSource([]))
    assert report.unavailable["gpu_memory_deployment_gb"] == "NVML reports no per-process memory on this GPU"
    assert report.metrics["gpu_memory_used_gb"] == 40.0


def test_container_pids_not_known_yet_and_processes_query_failing(standin_lib: Path, tmp_path: Path) -> None:
    unknown = run_harness(
        standin_lib,
        shared_gpu([SHARED]),
        {"scenario": "sample", "gpus": [0], "ticks": 2, "owner": {"pids": None}},
        tmp_path,
    )
    samples = gpu_samples(unknown["samples"])
    report = build_report(samples[0].t, samples[-1].t, [], GpuSource(samples, [0]), ServerSource([]))
    assert report.unavailable["gpu_memory_deployment_gb"] == OWNER_UNKNOWN
    failing = run_harness(
        standin_lib,
        shared_gpu([err(999)]),
        {"scenario": "sample", "gpus": [0], "ticks": 2, "owner": {"pids": [1001]}},
        tmp_path,
    )
    samples = gpu_samples(failing["samples"])
    report = build_report(samples[0].t, samples[-1].t, [], GpuSource(samples, [0]), ServerSource([]))
    assert report.unavailable["gpu_memory_deployment_gb"] == "GPU 0: Unknown Error"


class CountingContainer:
    """A container whose processes change when the test says; counts `top` calls."""

    name = "counting"

    def __init__(self, pids: set[int]) -> None:
        self.current = set(pids)
        self.tops = 0
        self.lock = threading.Lock()

    def stats(self) -> Mapping[str, Any]:
        return {}

    def pids(self) -> frozenset[int]:
        with self.lock:
            self.tops += 1
            return frozenset(self.current)

    def oom_events(self, since_unix: float, until_unix: float) -> list[int]:
        return []


def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


def test_unknown_gpu_pid_triggers_one_early_look() -> None:
    container = CountingContainer({10, 11})
    sampler = ContainerSampler(container, interval_s=60.0, pid_interval_s=60.0)
    sampler.start()
    try:
        assert sampler.ready.wait(10)
        assert sampler.pids() == frozenset({10, 11})
        assert container.tops == 1
        container.current.add(12)  # the server spawned a worker
        sampler.note_unknown_pids(frozenset({12, 99}))  # 99 belongs to another deployment
        wait_for(lambda: sampler.pids() == frozenset({10, 11, 12}))
        assert container.tops == 2
        sampler.note_unknown_pids(frozenset({99}))  # already looked for: no new look
        time.sleep(0.7)  # longer than the minimum spacing of looks
        assert container.tops == 2
    finally:
        sampler.request_stop()
        assert sampler.thread is not None
        sampler.thread.join(5)
    assert not sampler.thread.is_alive()
