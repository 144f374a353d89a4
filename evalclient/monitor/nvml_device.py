"""Reading one GPU through NVML (`pynvml`): each query in evalclient's units, with older drivers' fallbacks.

Memory comes from `nvmlDeviceGetMemoryInfo_v2`, whose `used` leaves out the driver's reservation as
nvidia-smi does, and from the v1 call where the driver has no v2; clock-event (throttle) reasons from
`nvmlDeviceGetCurrentClocksEventReasons`, else the older throttle-reasons call; running compute processes
from the `_v3` call, else `_v2`. A query a GPU answers NOT_SUPPORTED is not asked again; any other NVML error
leaves that field `None` for this reading only, with the error kept beside it. Only the sampler thread
calls a `DeviceReader`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

BYTES_PER_GB = 1e9
NOT_SUPPORTED = 3  # NVML_ERROR_NOT_SUPPORTED
FUNCTION_NOT_FOUND = 13  # NVML_ERROR_FUNCTION_NOT_FOUND: the driver predates the call
VERSION_MISMATCH = 25  # NVML_ERROR_ARGUMENT_VERSION_MISMATCH: the driver predates the struct version
_OLDER_DRIVER = (NOT_SUPPORTED, FUNCTION_NOT_FOUND, VERSION_MISMATCH)
MEMORY_V2 = 0x02000028  # NVML_STRUCT_VERSION(Memory, 2), for a pynvml that does not define nvmlMemory_v2
CLOCK_SM, CLOCK_MEM = 1, 2  # NVML_CLOCK_SM, NVML_CLOCK_MEM

# nvmlClocksEventReason* bits, named as nvidia-smi -q names them (lower case).
EVENT_REASONS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


def describe_event_reasons(mask: int | None) -> str | None:
    """`sw_power_cap+hw_slowdown` for a reasons mask, `none` for 0, `None` when unknown."""
    if mask is None:
        return None
    names = [name for bit, name in EVENT_REASONS.items() if mask & bit]
    unknown = mask & ~sum(EVENT_REASONS)
    if unknown:
        names.append(f"0x{unknown:x}")
    return "+".join(names) or "none"


@dataclass(frozen=True, slots=True)
class GpuProcess:
    """A compute process on a GPU: its host PID and GPU memory (None where NVML cannot tell)."""

    pid: int
    used_bytes: int | None


class DeviceReading(NamedTuple):
    """One GPU's answers to every query of one tick; `errors` holds (field, NVML error) of failed queries."""

    utilization_percent: float | None
    memory_used_gb: float | None
    memory_total_gb: float | None
    temperature_c: float | None
    power_w: float | None
    energy_j: float | None
    sm_clock_mhz: float | None
    memory_clock_mhz: float | None
    clocks_event_reasons: int | None
    processes: tuple[GpuProcess, ...] | None
    errors: tuple[tuple[str, str], ...]


def describe_error(err: BaseException) -> str:
    text = str(err)
    return text if text else type(err).__name__


def error_code(err: BaseException) -> int | None:
    code = getattr(err, "value", None)
    return code if isinstance(code, int) else None


@dataclass
class _Fallbacks:
    """Which variant of a query this GPU's driver answers (decided once, on the first refusal)."""

    memory_v1: bool = False
    throttle_reasons: bool = False
    processes_v2: bool = False


@dataclass
class DeviceReader:
    """Reads GPUs through the NVML module `nvml` and remembers what each one does not support."""

    nvml: Any
    unsupported: set[tuple[int, str]] = field(default_factory=set)
    field_reasons: dict[str, str] = field(default_factory=dict)
    """The first error seen for each field, e.g. `power_w: GPU 0: Not Supported`."""
    _fallbacks: dict[int, _Fallbacks] = field(default_factory=dict)

    def __post_init__(self) -> None:
        err = getattr(self.nvml, "NVMLError", None)
        self._error_type: type[BaseException] = (
            err if isinstance(err, type) and issubclass(err, BaseException) else Exception
        )
        self._sensor = getattr(self.nvml, "NVML_TEMPERATURE_GPU", 0)

    def read(self, gpu: int, handle: Any, *, slow: bool = True) -> DeviceReading:
        """One reading; the slowly changing, costlier queries (temperature, clocks, clock-event reasons,
        processes) only when `slow` (their fields are None otherwise, with no error)."""
        nvml = self.nvml
        errors: list[tuple[str, str]] = []
        modes = self._fallbacks.setdefault(gpu, _Fallbacks())

        def ask(name: str, query: Callable[[], Any], fields: Iterable[str] = ()) -> Any:
            if (gpu, name) in self.unsupported:
                return None
            try:
                return query()
            except self._error_type as err:
                self._failed(gpu, name, tuple(fields) or (name,), err, errors)
                return None

        def number(name: str, query: Callable[[], Any], scale: float = 1.0) -> float | None:
            value = ask(name, query)
            return None if value is None else float(value) / scale

        memory = ask(
            "memory", lambda: self._memory(gpu, handle, modes), ("memory_used_gb", "memory_total_gb")
        )
        utilization = number("utilization_percent", lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        power = number("power_w", lambda: nvml.nvmlDeviceGetPowerUsage(handle), 1000.0)
        energy = number("energy_j", lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle), 1000.0)
        temperature = sm_clock = memory_clock = reasons = processes = None
        if slow:
            temperature = number("temperature_c", lambda: nvml.nvmlDeviceGetTemperature(handle, self._sensor))
            sm_clock = number("sm_clock_mhz", lambda: nvml.nvmlDeviceGetClockInfo(handle, CLOCK_SM))
            memory_clock = number("memory_clock_mhz", lambda: nvml.nvmlDeviceGetClockInfo(handle, CLOCK_MEM))
            reasons = ask("clocks_event_reasons", lambda: self._event_reasons(gpu, handle, modes))
            processes = ask("processes", lambda: self._processes(gpu, handle, modes))
        return DeviceReading(
            utilization_percent=utilization,
            memory_used_gb=None if memory is None else memory.used / BYTES_PER_GB,
            memory_total_gb=None if memory is None else memory.total / BYTES_PER_GB,
            temperature_c=temperature,
            power_w=power,
            energy_j=energy,
            sm_clock_mhz=sm_clock,
            memory_clock_mhz=memory_clock,
            clocks_event_reasons=None if reasons is None else int(reasons),
            processes=None if processes is None else tuple(processes),
            errors=tuple(errors),
        )

    def _memory(self, gpu: int, handle: Any, modes: _Fallbacks) -> Any:
        nvml = self.nvml
        if not modes.memory_v1:
            try:
                return nvml.nvmlDeviceGetMemoryInfo(handle, getattr(nvml, "nvmlMemory_v2", MEMORY_V2))
            except self._error_type as err:
                if error_code(err) not in _OLDER_DRIVER:
                    raise
                modes.memory_v1 = True
                log.info("GPU %d: memory info v2 refused (%s); using v1", gpu, describe_error(err))
        return nvml.nvmlDeviceGetMemoryInfo(handle)

    def _event_reasons(self, gpu: int, handle: Any, modes: _Fallbacks) -> Any:
        query = getattr(self.nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if query is not None and not modes.throttle_reasons:
            try:
                return query(handle)
            except self._error_type as err:
                if error_code(err) != FUNCTION_NOT_FOUND:
                    raise
        modes.throttle_reasons = True
        return self.nvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle)

    def _processes(self, gpu: int, handle: Any, modes: _Fallbacks) -> list[GpuProcess]:
        raw: Any = None
        if not modes.processes_v2:
            try:
                raw = self.nvml.nvmlDeviceGetComputeRunningProcesses_v3(handle)
            except self._error_type as err:
                if error_code(err) != FUNCTION_NOT_FOUND:
                    raise
                modes.processes_v2 = True
        if modes.processes_v2:
            raw = self.nvml.nvmlDeviceGetComputeRunningProcesses_v2(handle)
        return [GpuProcess(int(p.pid), _bytes(p.usedGpuMemory)) for p in raw]

    def _failed(
        self,
        gpu: int,
        name: str,
        fields: tuple[str, ...],
        err: BaseException,
        errors: list[tuple[str, str]],
    ) -> None:
        text = f"GPU {gpu}: {describe_error(err)}"
        if error_code(err) == NOT_SUPPORTED:
            self.unsupported.add((gpu, name))
        for f in fields:
            errors.append((f, text))
            if f not in self.field_reasons:
                self.field_reasons[f] = text
                log.info("%s unavailable: %s", f, text)


def _bytes(value: Any) -> int | None:
    """pynvml gives None where the driver has no figure (NVML_VALUE_NOT_AVAILABLE)."""
    if value is None or int(value) >= 2**64 - 1:
        return None
    return int(value)
