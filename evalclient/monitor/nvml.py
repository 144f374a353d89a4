"""GPU sampling through NVML (`pynvml` from nvidia-ml-py) on a background thread.

Units: memory in decimal gigabytes (GB = 1e9 bytes, as DESIGN §5 names them), temperature in °C, power in W,
energy in J (NVML's total-energy counter, mJ since the driver loaded, divided by 1000), utilization in %,
clocks in MHz. GPU indices are NVML indices (PCI bus order, the numbering `docker --gpus device=` and
nvidia-smi use). `deployment_memory_gb` is the GPU memory of the deployment's own processes: NVML's running
compute processes whose (host) PIDs belong to its container, as `owner.pids()` says.

Utilization, memory, power and energy are read every tick (10 Hz by default); temperature, clocks,
clock-event reasons and the processes (so the deployment's memory) every `slow_every`-th tick (2 Hz): they
change slowly and cost the most, and between those ticks their fields are None.

When NVML cannot start (no driver, no GPU) the sampler records nothing and `reason` says why; a query a GPU
does not support (e.g. power on some boards) leaves that field `None` and its reason in `field_reasons()`;
any other NVML error (a GPU falling off the bus) leaves the field `None` in that sample, with the error in
`GpuSample.errors`, and sampling goes on. The tests drive the real binding against a stand-in driver
library (tests/nvml_standin); `nvml` is a parameter only to pick the module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pynvml

from evalclient.monitor.nvml_device import DeviceReader, DeviceReading, GpuProcess, describe_error
from evalclient.monitor.samplelog import SampleLog

log = logging.getLogger(__name__)

BYTES_PER_GB = 1e9
NO_OWNER = "the server was not started by evalclient: no container to attribute GPU memory to"
OWNER_UNKNOWN = "the container's processes are not known yet"


@dataclass(frozen=True)
class GpuProbe:
    """What NVML sees on this host: the GPU count, names, memory and compute capability, the driver and the
    CUDA version it supports, or the reason there is no GPU."""

    count: int
    names: tuple[str, ...]
    reason: str | None = None
    memory_total_gb: tuple[float | None, ...] = ()
    compute_capability: tuple[tuple[int, int] | None, ...] = ()
    driver_version: str | None = None
    cuda_driver_version: tuple[int, int] | None = None
    """The newest CUDA the driver supports (nvmlSystemGetCudaDriverVersion: 12040 → (12, 4))."""

    @property
    def available(self) -> bool:
        return self.count > 0


def _decode(name: Any) -> str:
    return name.decode(errors="replace") if isinstance(name, bytes) else str(name)


def probe_gpus(nvml: Any = None) -> GpuProbe:
    """Count and name the GPUs NVML sees (blocking: call it off the event loop in async code)."""
    nvml = pynvml if nvml is None else nvml
    try:
        nvml.nvmlInit()
    except Exception as err:
        return GpuProbe(0, (), f"NVML: {describe_error(err)}")
    try:
        count = int(nvml.nvmlDeviceGetCount())
        names = tuple(_device_name(nvml, i) for i in range(count))
        memory = tuple(_device_memory_gb(nvml, i) for i in range(count))
        capability = tuple(_device_capability(nvml, i) for i in range(count))
        driver, cuda = _driver_version(nvml), _cuda_driver_version(nvml)
    except Exception as err:
        return GpuProbe(0, (), f"NVML: {describe_error(err)}")
    finally:
        _shutdown(nvml)
    return GpuProbe(count, names, None if count else "NVML: no GPU found", memory, capability, driver, cuda)


def _device_capability(nvml: Any, index: int) -> tuple[int, int] | None:
    try:
        major, minor = nvml.nvmlDeviceGetCudaComputeCapability(nvml.nvmlDeviceGetHandleByIndex(index))
    except Exception:
        return None
    return int(major), int(minor)


def _driver_version(nvml: Any) -> str | None:
    try:
        return _decode(nvml.nvmlSystemGetDriverVersion())
    except Exception:
        return None


def _cuda_driver_version(nvml: Any) -> tuple[int, int] | None:
    try:
        version = int(nvml.nvmlSystemGetCudaDriverVersion())
    except Exception:
        return None
    return version // 1000, version % 1000 // 10


def _device_memory_gb(nvml: Any, index: int) -> float | None:
    try:
        return float(nvml.nvmlDeviceGetMemoryInfo(nvml.nvmlDeviceGetHandleByIndex(index)).total) / 1e9
    except Exception:
        return None


def _device_name(nvml: Any, index: int) -> str:
    try:
        return _decode(nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(index)))
    except Exception:
        return "unknown"


def _shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception as err:
        log.debug("nvmlShutdown failed: %s", describe_error(err))


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One reading of one GPU; `t` is `time.monotonic()` of the tick, shared by all GPUs of that tick."""

    t: float
    gpu: int
    utilization_percent: float | None
    memory_used_gb: float | None
    memory_total_gb: float | None
    temperature_c: float | None
    power_w: float | None
    energy_j: float | None
    sm_clock_mhz: float | None = None
    memory_clock_mhz: float | None = None
    clocks_event_reasons: int | None = None
    processes: tuple[GpuProcess, ...] | None = None
    deployment_memory_gb: float | None = None
    errors: tuple[tuple[str, str], ...] = ()
    """(field, why) for each field of this reading that is None for a reason of this reading only."""


class ProcessOwner(Protocol):
    """Whose processes count as the deployment's (its container's host PIDs); calls must not block."""

    def pids(self) -> frozenset[int] | None:
        """The PIDs known now, None until they are first known."""

    def note_unknown_pids(self, pids: frozenset[int]) -> None:
        """These PIDs hold a GPU but are not known as the container's: look again if they are new."""


def deployment_memory(
    processes: tuple[GpuProcess, ...] | None, pids: frozenset[int] | None
) -> tuple[float | None, str | None]:
    """GB of GPU memory held by the processes in `pids`, or (None, why)."""
    if processes is None:
        return None, "NVML gave no process list"
    if pids is None:
        return None, OWNER_UNKNOWN
    own = [p for p in processes if p.pid in pids]
    if any(p.used_bytes is None for p in own):
        return None, "NVML reports no per-process memory on this GPU"
    return sum(p.used_bytes or 0 for p in own) / BYTES_PER_GB, None


class NvmlSampler:
    """Samples the given GPUs every `interval_s` on a daemon thread that owns NVML init and shutdown."""

    def __init__(
        self,
        gpu_indices: Sequence[int],
        *,
        interval_s: float = 0.1,
        slow_every: int = 5,
        nvml: Any = None,
        owner: ProcessOwner | None = None,
    ) -> None:
        self.gpu_indices = tuple(gpu_indices)
        self.interval_s = interval_s
        self.slow_every = max(1, slow_every)
        self.owner = owner
        self._nvml: Any = pynvml if nvml is None else nvml
        self._reader = DeviceReader(self._nvml)
        self._lock = threading.Lock()
        self.log: SampleLog[GpuSample] = SampleLog()
        self._static_reasons: dict[str, str] = {} if owner is not None else {"deployment_memory_gb": NO_OWNER}
        self._stop = threading.Event()
        self.ready = threading.Event()
        self.reason: str | None = None
        self.ticks = 0
        self.cpu_s = 0.0
        """CPU time the sampling loop has used (time.thread_time, NVML's init left out): its cost."""
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        """Start the sampling thread (once; never blocks); `ready` is set after NVML init and the first tick.

        Without GPUs to sample the thread only asks NVML why, to say so in `reason`, and ends.
        """
        if self._thread is not None:
            return
        target = self._run if self.gpu_indices else self._explain_no_gpu
        self._thread = threading.Thread(target=target, name="evalclient-nvml-sampler", daemon=True)
        self._thread.start()

    def _explain_no_gpu(self) -> None:
        try:
            probe = probe_gpus(self._nvml)
            self.reason = (
                f"no NVIDIA GPU visible ({probe.reason})"
                if not probe.available
                else f"no GPU assigned to this deployment ({probe.count} visible; see --gpus)"
            )
        finally:
            self.ready.set()

    def request_stop(self) -> None:
        """Ask the thread to finish after its current tick (does not wait)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the thread (blocking: async code uses `request_stop` and polls `thread`)."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def samples(self) -> list[GpuSample]:
        return self.log.snapshot()

    def field_reasons(self) -> dict[str, str]:
        """Why a field is `None` in some samples: the first error seen for it, e.g. `GPU 0: Not Supported`."""
        with self._lock:
            return {**self._static_reasons, **self._reader.field_reasons}

    def _run(self) -> None:
        try:
            handles = self._open()
            if handles is not None:
                self._loop(handles)
        finally:
            self.ready.set()

    def _open(self) -> dict[int, Any] | None:
        nvml = self._nvml
        try:
            nvml.nvmlInit()
        except Exception as err:
            self.reason = f"no NVIDIA GPU visible: {describe_error(err)}"
            log.info("GPU metrics unavailable: %s", self.reason)
            return None
        try:
            return self._handles()
        except Exception as err:
            self.reason = f"NVML: {describe_error(err)}"
            log.warning("GPU metrics unavailable: %s", self.reason)
            _shutdown(nvml)
            return None

    def _handles(self) -> dict[int, Any] | None:
        count = int(self._nvml.nvmlDeviceGetCount())
        missing = [i for i in self.gpu_indices if not 0 <= i < count]
        if missing:
            self.reason = f"GPU index {missing[0]} not visible: NVML sees {count} GPU(s)"
            log.warning("GPU metrics unavailable: %s", self.reason)
            _shutdown(self._nvml)
            return None
        return {i: self._nvml.nvmlDeviceGetHandleByIndex(i) for i in self.gpu_indices}

    def _loop(self, handles: dict[int, Any]) -> None:
        start, cpu_start = time.monotonic(), time.thread_time()
        try:
            while True:
                self._tick(handles)
                self.ready.set()
                self.ticks += 1
                self.cpu_s = time.thread_time() - cpu_start
                # The next tick on the grid start + k * interval, skipping ticks a slow driver call missed.
                late = int((time.monotonic() - start) / self.interval_s) + 1
                next_at = start + max(self.ticks, late) * self.interval_s
                if self._stop.wait(max(0.0, next_at - time.monotonic())):
                    break
        except Exception as err:
            self.reason = f"GPU sampler failed: {describe_error(err)}"
            log.exception("GPU sampler stopped")
        finally:
            _shutdown(self._nvml)

    def _tick(self, handles: dict[int, Any]) -> None:
        t = time.monotonic()
        slow = self.ticks % self.slow_every == 0
        with self._lock:
            readings = [(gpu, self._reader.read(gpu, handle, slow=slow)) for gpu, handle in handles.items()]
        pids = self.owner.pids() if self.owner is not None else None
        self.log.extend(self._sample(t, gpu, reading, pids, slow) for gpu, reading in readings)

    def _sample(
        self, t: float, gpu: int, r: DeviceReading, pids: frozenset[int] | None, slow: bool
    ) -> GpuSample:
        errors = r.errors
        own: float | None = None
        if self.owner is not None and slow:
            own, why = deployment_memory(r.processes, pids)
            if why is not None:
                failed = [text for name, text in r.errors if name == "processes"]
                why = failed[0] if failed else self._reader.field_reasons.get("processes", why)
                errors = (*errors, ("deployment_memory_gb", why))
            unknown = frozenset(p.pid for p in r.processes or () if pids is None or p.pid not in pids)
            if unknown:
                self.owner.note_unknown_pids(unknown)  # a new process of ours, or another deployment's
        return GpuSample(
            t=t,
            gpu=gpu,
            utilization_percent=r.utilization_percent,
            memory_used_gb=r.memory_used_gb,
            memory_total_gb=r.memory_total_gb,
            temperature_c=r.temperature_c,
            power_w=r.power_w,
            energy_j=r.energy_j,
            sm_clock_mhz=r.sm_clock_mhz,
            memory_clock_mhz=r.memory_clock_mhz,
            clocks_event_reasons=r.clocks_event_reasons,
            processes=r.processes,
            deployment_memory_gb=own,
            errors=errors,
        )
