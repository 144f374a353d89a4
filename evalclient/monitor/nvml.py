"""GPU sampling through NVML (`pynvml` from nvidia-ml-py) on a background thread.

Units: memory in decimal gigabytes (GB = 1e9 bytes, as DESIGN §5 names them), temperature in °C, power in W,
energy in J (NVML's total-energy counter, mJ since the driver loaded, divided by 1000), utilization in %.
GPU indices are NVML indices (PCI bus order, the same numbering `docker --gpus device=` and nvidia-smi use).

The NVML module is a parameter (default: the real `pynvml`) so tests can swap the driver edge for a fake.
When NVML cannot start (no driver, no GPU) the sampler records nothing and `reason` says why; a query a GPU
does not support (e.g. power on some boards) leaves that field `None` and its reason in `field_reasons()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pynvml

log = logging.getLogger(__name__)

BYTES_PER_GB = 1e9
NOT_SUPPORTED_CODE = 3  # NVML_ERROR_NOT_SUPPORTED, used when the module does not define the constant


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


def _nvml_error_type(nvml: Any) -> type[BaseException]:
    err = getattr(nvml, "NVMLError", None)
    return err if isinstance(err, type) and issubclass(err, BaseException) else Exception


def _describe(err: BaseException) -> str:
    text = str(err)
    return text if text else type(err).__name__


def _decode(name: Any) -> str:
    return name.decode(errors="replace") if isinstance(name, bytes) else str(name)


def probe_gpus(nvml: Any = None) -> GpuProbe:
    """Count and name the GPUs NVML sees (blocking: call it off the event loop in async code)."""
    nvml = pynvml if nvml is None else nvml
    try:
        nvml.nvmlInit()
    except Exception as err:
        return GpuProbe(0, (), f"NVML: {_describe(err)}")
    try:
        count = int(nvml.nvmlDeviceGetCount())
        names = tuple(_device_name(nvml, i) for i in range(count))
        memory = tuple(_device_memory_gb(nvml, i) for i in range(count))
        capability = tuple(_device_capability(nvml, i) for i in range(count))
        driver, cuda = _driver_version(nvml), _cuda_driver_version(nvml)
    except Exception as err:
        return GpuProbe(0, (), f"NVML: {_describe(err)}")
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
        log.debug("nvmlShutdown failed: %s", _describe(err))


class NvmlSampler:
    """Samples the given GPUs every `interval_s` on a daemon thread that owns NVML init and shutdown."""

    def __init__(self, gpu_indices: Sequence[int], *, interval_s: float = 0.5, nvml: Any = None) -> None:
        self.gpu_indices = tuple(gpu_indices)
        self.interval_s = interval_s
        self._nvml: Any = pynvml if nvml is None else nvml
        self._error_type = _nvml_error_type(self._nvml)
        self._lock = threading.Lock()
        self._samples: list[GpuSample] = []
        self._field_reasons: dict[str, str] = {}
        self._unsupported: set[tuple[int, str]] = set()
        self._stop = threading.Event()
        self.ready = threading.Event()
        self.reason: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        """Start the sampling thread (once); `ready` is set after NVML init and the first tick."""
        if self._thread is not None:
            return
        if not self.gpu_indices:
            probe = probe_gpus(self._nvml)  # once per deployment; quick when there is no driver
            self.reason = (
                f"no NVIDIA GPU visible ({probe.reason})"
                if not probe.available
                else f"no GPU assigned to this deployment ({probe.count} visible; see --gpus)"
            )
            self.ready.set()
            return
        self._thread = threading.Thread(target=self._run, name="evalclient-nvml-sampler", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to finish after its current tick (does not wait)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the thread (blocking: async code uses `request_stop` and polls `thread`)."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def samples(self) -> list[GpuSample]:
        with self._lock:
            return list(self._samples)

    def field_reasons(self) -> dict[str, str]:
        """Why a field is `None` in some samples: the first error seen for it, e.g. `GPU 0: Not Supported`."""
        with self._lock:
            return dict(self._field_reasons)

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
            self.reason = f"no NVIDIA GPU visible: {_describe(err)}"
            log.info("GPU metrics unavailable: %s", self.reason)
            return None
        try:
            return self._handles()
        except Exception as err:
            self.reason = f"NVML: {_describe(err)}"
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
        start = time.monotonic()
        ticks = 0
        try:
            while True:
                self._tick(handles)
                self.ready.set()
                ticks += 1
                next_at = start + ticks * self.interval_s
                if self._stop.wait(max(0.0, next_at - time.monotonic())):
                    break
        except Exception as err:
            self.reason = f"GPU sampler failed: {_describe(err)}"
            log.exception("GPU sampler stopped")
        finally:
            _shutdown(self._nvml)

    def _tick(self, handles: dict[int, Any]) -> None:
        t = time.monotonic()
        batch = [self._read(t, gpu, handle) for gpu, handle in handles.items()]
        with self._lock:
            self._samples.extend(batch)

    def _read(self, t: float, gpu: int, handle: Any) -> GpuSample:
        nvml = self._nvml
        memory = self._query(gpu, "memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
        return GpuSample(
            t=t,
            gpu=gpu,
            utilization_percent=self._number(
                gpu, "utilization_percent", lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            ),
            memory_used_gb=None if memory is None else memory.used / BYTES_PER_GB,
            memory_total_gb=None if memory is None else memory.total / BYTES_PER_GB,
            temperature_c=self._number(
                gpu, "temperature_c", lambda: nvml.nvmlDeviceGetTemperature(handle, sensor)
            ),
            power_w=self._number(gpu, "power_w", lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0),
            energy_j=self._number(
                gpu, "energy_j", lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0
            ),
        )

    def _number(self, gpu: int, field: str, query: Callable[[], Any]) -> float | None:
        value = self._query(gpu, field, query)
        return None if value is None else float(value)

    def _query(self, gpu: int, field: str, query: Callable[[], Any]) -> Any:
        if (gpu, field) in self._unsupported:
            return None
        try:
            return query()
        except self._error_type as err:
            self._note_failure(gpu, field, err)
            return None

    def _note_failure(self, gpu: int, field: str, err: BaseException) -> None:
        code = getattr(err, "value", None)
        if code == getattr(self._nvml, "NVML_ERROR_NOT_SUPPORTED", NOT_SUPPORTED_CODE):
            self._unsupported.add((gpu, field))
        names = ("memory_used_gb", "memory_total_gb") if field == "memory" else (field,)
        with self._lock:
            for name in names:
                if name not in self._field_reasons:
                    self._field_reasons[name] = f"GPU {gpu}: {_describe(err)}"
                    log.info("GPU %d: %s unavailable: %s", gpu, name, _describe(err))
