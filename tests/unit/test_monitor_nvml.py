"""The NVML sampler with only the driver edge faked (an NVML module object), and real pynvml without a GPU."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

import pytest

from evalclient.monitor.nvml import NvmlSampler, probe_gpus

NOT_SUPPORTED, LIBRARY_NOT_FOUND, UNKNOWN = 3, 12, 999
_TEXT = {
    NOT_SUPPORTED: "Not Supported",
    LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    UNKNOWN: "Unknown Error",
}


class FakeNVMLError(Exception):
    """Like pynvml.NVMLError: carries the NVML return code in `value`, prints the driver's text."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _TEXT.get(self.value, f"NVML error {self.value}")


class FakeNvml:
    """The NVML functions the sampler calls, answering for `count` scripted GPUs."""

    NVMLError = FakeNVMLError
    NVML_ERROR_NOT_SUPPORTED = NOT_SUPPORTED
    NVML_TEMPERATURE_GPU = 0

    def __init__(
        self,
        count: int = 2,
        *,
        init_error: int | None = None,
        unsupported: Iterable[str] = (),
        init_gate: threading.Event | None = None,
    ) -> None:
        self.count = count
        self.init_error = init_error
        self.unsupported = set(unsupported)
        self.init_gate = init_gate
        self.calls: Counter[str] = Counter()
        self.energy_mj = dict.fromkeys(range(count), 5_000_000)

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.unsupported:
            raise FakeNVMLError(NOT_SUPPORTED)

    def nvmlInit(self) -> None:
        self._call("init")
        if self.init_gate is not None:
            self.init_gate.wait(10)
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self._call("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index: int) -> tuple[str, int]:
        if not 0 <= index < self.count:
            raise FakeNVMLError(2)
        return ("gpu", index)

    def nvmlDeviceGetName(self, handle: tuple[str, int]) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetUtilizationRates(self, handle: tuple[str, int]) -> SimpleNamespace:
        self._call("utilization")
        return SimpleNamespace(gpu=40 + 20 * handle[1], memory=10)

    def nvmlDeviceGetMemoryInfo(self, handle: tuple[str, int]) -> SimpleNamespace:
        self._call("memory")
        used = 20_000_000_000 + 1_000_000_000 * handle[1]
        return SimpleNamespace(used=used, total=80_000_000_000, free=80_000_000_000 - used)

    def nvmlDeviceGetTemperature(self, handle: tuple[str, int], sensor: int) -> int:
        self._call("temperature")
        assert sensor == 0
        return 55 + handle[1]

    def nvmlDeviceGetPowerUsage(self, handle: tuple[str, int]) -> int:
        self._call("power")
        return 250_000 + 50_000 * handle[1]  # mW

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: tuple[str, int]) -> int:
        self._call("energy")
        self.energy_mj[handle[1]] += 1_000
        return self.energy_mj[handle[1]]  # mJ


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "evalclient-nvml-sampler"]


def run_sampler(nvml: Any, gpus: list[int], ticks: int = 3) -> NvmlSampler:
    sampler = NvmlSampler(gpus, interval_s=0.005, nvml=nvml)
    sampler.start()
    assert sampler.ready.wait(10)
    wait_for(lambda: len(sampler.samples()) >= ticks * len(gpus) or sampler.reason is not None)
    sampler.stop()
    return sampler


def test_samples_every_field_in_its_unit() -> None:
    fake = FakeNvml(2)
    sampler = run_sampler(fake, [0, 1])
    assert sampler.reason is None
    assert sampler.field_reasons() == {}
    first = {s.gpu: s for s in sampler.samples()[:2]}
    assert first[0].t == first[1].t  # one tick, one timestamp for all GPUs
    assert first[1].utilization_percent == 60.0
    assert first[1].memory_used_gb == 21.0
    assert first[1].memory_total_gb == 80.0
    assert first[1].temperature_c == 56.0
    assert first[1].power_w == 300.0
    assert first[0].energy_j == 5001.0
    assert fake.calls["init"] == 1
    assert fake.calls["shutdown"] == 1
    assert not sampler_threads()


def test_init_failure_records_nothing_and_says_why() -> None:
    fake = FakeNvml(init_error=LIBRARY_NOT_FOUND)
    sampler = NvmlSampler([0], interval_s=0.005, nvml=fake)
    sampler.start()
    assert sampler.ready.wait(10)
    sampler.stop()
    assert sampler.reason == "no NVIDIA GPU visible: NVML Shared Library Not Found"
    assert sampler.samples() == []
    assert fake.calls["shutdown"] == 0
    assert not sampler_threads()


def test_power_unsupported_is_null_with_reason_and_not_asked_again() -> None:
    fake = FakeNvml(2, unsupported={"power"})
    sampler = run_sampler(fake, [0, 1], ticks=4)
    samples = sampler.samples()
    assert all(s.power_w is None for s in samples)
    assert all(s.energy_j is not None and s.temperature_c is not None for s in samples)
    assert sampler.field_reasons() == {"power_w": "GPU 0: Not Supported"}
    assert fake.calls["power"] == 2  # once per GPU, then remembered as unsupported
    assert sampler.reason is None


def test_memory_failure_names_both_memory_fields() -> None:
    fake = FakeNvml(1, unsupported={"memory"})
    sampler = run_sampler(fake, [0])
    assert set(sampler.field_reasons()) == {"memory_used_gb", "memory_total_gb"}
    assert all(s.memory_used_gb is None and s.utilization_percent == 40.0 for s in sampler.samples())


def test_transient_errors_are_retried() -> None:
    class Flaky(FakeNvml):
        def nvmlDeviceGetTemperature(self, handle: tuple[str, int], sensor: int) -> int:
            self.calls["temperature"] += 1
            if self.calls["temperature"] == 1:
                raise FakeNVMLError(UNKNOWN)
            return 50

    fake = Flaky(1)
    sampler = run_sampler(fake, [0], ticks=3)
    temps = [s.temperature_c for s in sampler.samples()]
    assert temps[0] is None
    assert temps[1:]
    assert all(t == 50.0 for t in temps[1:])
    assert sampler.field_reasons() == {"temperature_c": "GPU 0: Unknown Error"}


def test_gpu_index_not_visible() -> None:
    fake = FakeNvml(1)
    sampler = run_sampler(fake, [0, 3])
    assert sampler.reason == "GPU index 3 not visible: NVML sees 1 GPU(s)"
    assert sampler.samples() == []
    assert fake.calls["shutdown"] == 1


def test_no_gpu_indices_starts_no_thread() -> None:
    sampler = NvmlSampler([], nvml=FakeNvml())
    sampler.start()
    assert sampler.ready.is_set()
    assert sampler.thread is None
    assert sampler.reason == "no GPU assigned to this deployment (2 visible; see --gpus)"


def test_no_gpu_indices_and_no_driver_says_why() -> None:
    class NoDriver(FakeNvml):
        def nvmlInit(self) -> None:
            raise RuntimeError("NVML Shared Library Not Found")

    sampler = NvmlSampler([], nvml=NoDriver())
    sampler.start()
    assert sampler.reason is not None
    assert sampler.reason.startswith("no NVIDIA GPU visible (NVML: ")
    assert "NVML Shared Library Not Found" in sampler.reason


def test_unexpected_exception_stops_the_sampler_with_reason() -> None:
    class Broken(FakeNvml):
        def nvmlDeviceGetUtilizationRates(self, handle: tuple[str, int]) -> SimpleNamespace:
            raise RuntimeError("driver binding bug")

    fake = Broken(1)
    sampler = NvmlSampler([0], interval_s=0.005, nvml=fake)
    sampler.start()
    assert sampler.ready.wait(10)
    wait_for(lambda: sampler.thread is not None and not sampler.thread.is_alive())
    assert sampler.reason == "GPU sampler failed: driver binding bug"
    assert fake.calls["shutdown"] == 1


def test_start_and_stop_are_idempotent() -> None:
    sampler = NvmlSampler([0], interval_s=0.005, nvml=FakeNvml(1))
    sampler.start()
    sampler.start()
    assert sampler.ready.wait(10)
    sampler.stop()
    sampler.stop()
    assert len(sampler_threads()) == 0


def test_probe_with_fake() -> None:
    assert probe_gpus(FakeNvml(2)).names == ("NVIDIA H100 80GB HBM3",) * 2
    assert probe_gpus(FakeNvml(2)).available
    failed = probe_gpus(FakeNvml(init_error=LIBRARY_NOT_FOUND))
    assert (failed.count, failed.names, failed.reason) == (0, (), "NVML: NVML Shared Library Not Found")
    assert probe_gpus(FakeNvml(0)).reason == "NVML: no GPU found"


def test_real_pynvml_without_gpu() -> None:
    probe = probe_gpus()
    if probe.available:
        pytest.skip(f"this host has {probe.count} GPU(s)")
    assert probe.reason is not None
    assert probe.reason.startswith("NVML: ")
    sampler = NvmlSampler([0], interval_s=0.01)
    sampler.start()
    assert sampler.ready.wait(10)
    sampler.stop()
    assert sampler.samples() == []
    assert sampler.reason is not None
    assert sampler.reason.startswith("no NVIDIA GPU visible: ")
    assert not sampler_threads()
