"""The monitor against the real driver under a real load, checked against nvidia-smi's own readings.

A tiny CUDA program (gpu_load.cu, built with nvcc) holds 2 GiB and keeps every SM busy; meanwhile the
sampler reads GPU 0 at 10 Hz and nvidia-smi --query-gpu is asked a few times. Both read NVML, but through
different code (nvidia-smi's units are MiB, W, MHz), so they agree within a sample's movement. Skipped
without a GPU; the load tests are skipped without nvcc or nvidia-smi.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalclient.engines import get_adapter
from evalclient.monitor import LivePerformanceMonitor, probe_gpus
from evalclient.monitor.nvml import GpuSample, NvmlSampler

PROBE = probe_gpus()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not PROBE.available, reason=f"no NVIDIA GPU: {PROBE.reason}"),
]
HERE = Path(__file__).resolve().parent
LOAD_MIB = 2048
MIB = 2**20
SMI_FIELDS = ("utilization.gpu", "memory.used", "memory.total", "power.draw", "temperature.gpu", "clocks.sm")


@pytest.fixture(scope="module")
def load_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    nvcc = shutil.which("nvcc") or next(
        (str(p) for p in (Path("/usr/local/cuda/bin/nvcc"),) if p.exists()), None
    )
    if nvcc is None:
        pytest.skip("nvcc not found: the GPU load program cannot be built")
    binary = tmp_path_factory.mktemp("gpu_load") / "gpu_load"
    built = subprocess.run(
        [nvcc, "-O2", "-o", str(binary), str(HERE / "gpu_load.cu")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return binary


@pytest.fixture
def load(load_binary: Path) -> Iterator[subprocess.Popen[str]]:
    """The load running on GPU 0 (up to 60 s), once it holds its memory."""
    proc = subprocess.Popen([str(load_binary), "60", str(LOAD_MIB), "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready"), f"the load did not start: {line!r} (exit {proc.poll()})"
        time.sleep(1.0)  # past the first kernels: clocks and power settle
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def smi(*args: str) -> list[list[str]]:
    if shutil.which("nvidia-smi") is None:
        pytest.skip("nvidia-smi not found")
    done = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, check=True, timeout=30)
    return [[cell.strip() for cell in line.split(",")] for line in done.stdout.strip().splitlines()]


def smi_gpu0() -> tuple[float, dict[str, float | None]]:
    """One nvidia-smi reading of GPU 0 and the monotonic time it was taken (the call's midpoint)."""
    before = time.monotonic()
    (row,) = smi("-i", "0", f"--query-gpu={','.join(SMI_FIELDS)}", "--format=csv,noheader,nounits")
    at = (before + time.monotonic()) / 2
    return at, {name: _number(cell) for name, cell in zip(SMI_FIELDS, row, strict=True)}


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


class OwnsPid:
    """The load process as the 'deployment' whose GPU memory is attributed."""

    def __init__(self, pid: int) -> None:
        self._pids = frozenset({pid})

    def pids(self) -> frozenset[int] | None:
        return self._pids

    def note_unknown_pids(self, pids: frozenset[int]) -> None:
        return None


def nearest(samples: list[GpuSample], t: float, field: str = "memory_used_gb") -> GpuSample:
    """The sample closest to `t` that has `field` (the slow fields are read every fifth tick)."""
    return min((s for s in samples if getattr(s, field) is not None), key=lambda s: abs(s.t - t))


def sample_with_smi(pid: int) -> tuple[list[GpuSample], list[tuple[float, dict[str, float | None]]]]:
    sampler = NvmlSampler([0], interval_s=0.1, owner=OwnsPid(pid))
    sampler.start()
    try:
        assert sampler.ready.wait(10)
        readings = []
        for _ in range(6):
            time.sleep(0.5)
            readings.append(smi_gpu0())
        time.sleep(0.3)
    finally:
        sampler.stop()
    assert sampler.reason is None
    return sampler.samples(), readings


def test_readings_match_nvidia_smi_under_load(load: subprocess.Popen[str]) -> None:
    samples, readings = sample_with_smi(load.pid)
    assert len(samples) >= 30
    for at, smi_now in readings:
        ours = nearest(samples, at)
        assert ours.memory_total_gb is not None
        assert ours.memory_used_gb is not None
        assert smi_now["memory.total"] is not None
        assert smi_now["memory.used"] is not None
        assert abs(ours.memory_total_gb * 1e9 / MIB - smi_now["memory.total"]) <= 1  # same figure, MiB
        assert abs(ours.memory_used_gb * 1e9 / MIB - smi_now["memory.used"]) <= 64  # steady under the load
        assert ours.memory_used_gb * 1e9 >= LOAD_MIB * MIB
        if smi_now["temperature.gpu"] is not None:
            temperature = nearest(samples, at, "temperature_c").temperature_c
            assert temperature is not None
            assert abs(temperature - smi_now["temperature.gpu"]) <= 3
        if smi_now["clocks.sm"] is not None:
            clock = nearest(samples, at, "sm_clock_mhz").sm_clock_mhz
            assert clock is not None
            assert abs(clock - smi_now["clocks.sm"]) <= 0.15 * smi_now["clocks.sm"]
    ours_util = statistics.median(s.utilization_percent or 0.0 for s in samples)
    smi_util = statistics.median(r["utilization.gpu"] or 0.0 for _, r in readings)
    assert ours_util >= 90
    assert smi_util >= 90
    powers = [r["power.draw"] for _, r in readings if r["power.draw"] is not None]
    ours_power = [s.power_w for s in samples if s.power_w is not None]
    if powers and ours_power:
        smi_mean, ours_mean = statistics.fmean(powers), statistics.fmean(ours_power)
        assert abs(ours_mean - smi_mean) <= max(0.15 * smi_mean, 25.0)
    busy = [s.clocks_event_reasons for s in samples if s.clocks_event_reasons is not None]
    assert sum(1 for r in busy if r & 0x1) <= len(busy) // 10  # hardly ever "idle" under the load


def test_the_load_process_memory_is_attributed(load: subprocess.Popen[str]) -> None:
    samples, _ = sample_with_smi(load.pid)
    apps = {
        int(pid): float(used)
        for pid, used in smi(
            "-i", "0", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"
        )
    }
    if load.pid not in apps:
        pytest.skip(f"NVML reports PIDs of another PID namespace ({sorted(apps)}; ours is {load.pid})")
    ours = [s.deployment_memory_gb for s in samples if s.processes is not None][-3:]
    assert len(ours) == 3
    for value in ours:
        assert value is not None
        assert abs(value * 1e9 / MIB - apps[load.pid]) <= 2  # nvidia-smi's MiB of the same NVML figure
        assert value * 1e9 >= LOAD_MIB * MIB  # the buffer, plus the CUDA context
    last = samples[-1]
    assert last.memory_used_gb is not None
    assert ours[-1] is not None
    assert ours[-1] <= last.memory_used_gb


async def test_window_energy_matches_power_under_load(load: subprocess.Popen[str]) -> None:
    monitor = LivePerformanceMonitor(
        metric_names=get_adapter("tgi").metric_names,
        metrics_url=None,
        session=None,
        gpu_indices=[0],
        max_batch_total_tokens=None,
    )
    await monitor.start()
    try:
        with monitor.window("load"):
            await asyncio.sleep(4.0)
    finally:
        await monitor.stop()
    m = monitor.performance_metrics("load", []).metrics
    assert m["gpu_utilization_percent"] is not None
    assert m["gpu_utilization_percent"] >= 90
    assert m["gpu_memory_peak_gb"] is not None
    assert m["gpu_memory_peak_gb"] * 1e9 >= LOAD_MIB * MIB
    if m["power_w_mean"] is not None and m["energy_j"] is not None and m["window_s"]:
        assert abs(m["energy_j"] / m["window_s"] - m["power_w_mean"]) <= 0.15 * m["power_w_mean"]
    line = monitor.live_line()
    assert line is not None
    assert line.startswith("GPU0 ")
