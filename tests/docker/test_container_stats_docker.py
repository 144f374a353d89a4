"""The monitor's container sampler on the real Docker engine: CPU %, memory and its limit, an OOM kill inside
the container, its host PIDs; and GPU memory attributed to a real container's processes (the stand-in
driver scripted with those PIDs).

Only containers this module creates are touched: each carries a label unique to the test, and only those
are checked for and removed afterwards (other suites may use the same engine at the same time).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nvml_standin import Script, memory, processes, run_harness

from evalclient.deploy.docker_engine import MANAGED_LABEL
from evalclient.monitor.container import ContainerSampler, DockerContainerProbe
from evalclient.monitor.container_stats import memory_used_bytes

pytestmark = pytest.mark.docker
TEST_LABEL = "evalclient.test"
GB = 1_000_000_000
BUSY = "import time\nheld = bytearray(b'x' * 60_000_000)\nwhile True:\n    pass\n"


@pytest.fixture
def start_container(docker_client: Any, sim_image: str) -> Iterator[Callable[..., Any]]:
    """`start_container(code)` → a running container of the simulator image running `python3 -c code`."""
    tag = f"monitor-{uuid.uuid4().hex[:10]}"
    started: list[Any] = []

    def start(code: str, mem_limit: str = "256m") -> Any:
        container = docker_client.containers.run(
            sim_image,
            entrypoint=["python3", "-c", code],
            detach=True,
            network_mode="none",
            mem_limit=mem_limit,
            memswap_limit=mem_limit,
            labels={MANAGED_LABEL: "true", TEST_LABEL: tag},
        )
        started.append(container)
        return container

    yield start
    for container in started:
        container.remove(force=True)
    left = docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={tag}"})
    assert not left, f"containers left behind: {[c.name for c in left]}"


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_stats_pids_and_an_oom_kill(docker_client: Any, start_container: Callable[..., Any]) -> None:
    container = start_container(BUSY)
    container.reload()
    main_pid = container.attrs["State"]["Pid"]
    probe = DockerContainerProbe(docker_client, container.id, container.name)
    wait_for(lambda: (memory_used_bytes(probe.stats()) or 0) >= 60_000_000)  # the buffer is held
    sampler = ContainerSampler(
        DockerContainerProbe(docker_client, container.id, container.name), interval_s=0.2
    )
    sampler.start()
    try:
        wait_for(lambda: sampler.log.count >= 4)
        killed = container.exec_run(["python3", "-c", "x = bytearray(b'x' * 600_000_000)"])
        assert killed.exit_code == 137  # SIGKILL from the cgroup's OOM killer
        wait_for(lambda: sampler.oom_events >= 1)
        count = sampler.log.count
        wait_for(lambda: sampler.log.count >= count + 2)
    finally:
        sampler.request_stop()
        assert sampler.thread is not None
        sampler.thread.join(10)
    samples = sampler.samples()
    assert sampler.failures == 0
    pids = sampler.pids()
    assert pids is not None
    assert main_pid in pids  # host PIDs, as NVML reports them
    assert samples[0].cpu_percent is None  # a one-shot document has no baseline
    busy = [s.cpu_percent for s in samples[1:] if s.cpu_percent is not None]
    assert busy
    assert min(busy) > 10.0  # a busy loop: most of a core (the host may be shared)
    assert {s.memory_limit_gb for s in samples} == {268_435_456 / GB}  # 256 MiB
    assert all(s.memory_used_gb is not None and s.memory_used_gb >= 0.06 for s in samples)
    assert sampler.oom_events == 1
    assert samples[-1].oom_events == 1
    container.reload()
    assert container.status == "running"  # only the exec'd process was killed


def test_gpu_memory_of_a_real_containers_processes(
    start_container: Callable[..., Any], standin_lib: Path, tmp_path: Path
) -> None:
    container = start_container("import time\ntime.sleep(600)\n")
    container.reload()
    main_pid = container.attrs["State"]["Pid"]
    script = Script(1).gpu(
        0,
        memory=[memory(80 * GB, GB // 2, 40 * GB)],
        utilization=["70/30"],
        power=[300_000],
        energy=[1_000_000],
        processes=[processes((main_pid, 6 * GB), (4_000_000, 30 * GB))],  # ours, and another host process
    )
    request = {
        "scenario": "monitor",
        "gpus": [0],
        "interval_s": 0.02,
        "container": {"docker": container.id},
        "container_interval_s": 0.2,
        "samples_path": str(tmp_path / "m_p.csv"),
        "windows": [{"name": "gsm8k", "ticks": 10, "container_looks": 2}],
    }
    answer = run_harness(standin_lib, script, request, tmp_path / "run")
    report = answer["reports"]["gsm8k"]
    assert (report["gpu_memory_deployment_gb"], report["gpu_memory_deployment_peak_gb"]) == (6.0, 6.0)
    assert report["gpu_memory_used_gb"] == 40.0
    assert report["container_memory_peak_gb"] is not None
    assert report["container_oom_events"] == 0
    status = answer["status"]
    assert (status["container"], status["container_failures"]) == (container.id[:12], 0)
    assert answer["threads"] == []
    rows = (tmp_path / "m_p.csv").read_text().splitlines()
    assert sum(",container," in row for row in rows) == status["container_samples"]
