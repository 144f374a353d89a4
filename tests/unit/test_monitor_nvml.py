"""The NVML sampler through the real nvidia-ml-py, which loads the stand-in libnvidia-ml.so.1 (scripted).

Each test writes a readings script, runs the sampler in a child process (LD_LIBRARY_PATH points at the
stand-in) and checks what came back through ctypes: struct layouts, units, return codes, fallbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nvml_standin import (
    DRIVER_NOT_LOADED,
    FUNCTION_NOT_FOUND,
    GPU_IS_LOST,
    NOT_SUPPORTED,
    Script,
    err,
    gpu_samples,
    memory,
    processes,
    run_harness,
)

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind
from evalclient.monitor.aggregate import GPU_REPORT_FIELDS, GpuSource, ServerSource, build_report
from evalclient.monitor.nvml import NO_OWNER, NvmlSampler, probe_gpus

GB = 1_000_000_000
H100 = "NVIDIA H100 80GB HBM3"
Run = Callable[[Script | None, dict[str, Any]], dict[str, Any]]


@pytest.fixture
def run(standin_lib: Path, tmp_path: Path) -> Run:
    def go(script: Script | None, request: dict[str, Any]) -> dict[str, Any]:
        return run_harness(standin_lib, script, request, tmp_path)

    return go


def steady(**overrides: list[object]) -> dict[str, list[object]]:
    """One GPU's readings that never change, with some series replaced."""
    series: dict[str, list[object]] = {
        "memory": [memory(80 * GB, GB // 2, 20 * GB)],
        "utilization": ["50/10"],
        "temperature": [60],
        "power": [250_000],
        "energy": [5_000_000],
        "clock_sm": [1980],
        "clock_mem": [2619],
        "clocks_event_reasons": [0],
        "processes": [processes((1001, 20 * GB))],
    }
    series.update(overrides)
    return series


def records(n: int, completion_tokens: int) -> list[Completion]:
    return [
        Completion(str(i), RequestKind.CHAT, prompt_tokens=10, completion_tokens=completion_tokens)
        for i in range(n)
    ]


def test_every_reading_in_its_unit_through_ctypes(run: Run) -> None:
    script = (
        Script(2)
        .gpu(0, name=H100, **steady())
        .gpu(
            1,
            name=H100,
            **steady(
                memory=[memory(80 * GB, GB // 2, 21 * GB)],
                utilization=["60/12"],
                power=[300_500],
                energy=[7_250_125],
                clocks_event_reasons=[0x4 | 0x40],
                processes=[processes((1001, 15 * GB), (2002, 6 * GB))],
            ),
        )
    )
    answer = run(script, {"scenario": "sample", "gpus": [0, 1], "ticks": 1, "owner": {"pids": [1001]}})
    assert answer["reason"] is None
    assert answer["field_reasons"] == {}
    first, second = gpu_samples(answer["samples"][:2])
    assert first.t == second.t  # one tick, one timestamp for all GPUs
    assert (second.gpu, second.utilization_percent) == (1, 60.0)
    assert second.memory_used_gb == 21.0  # v2: used leaves out the 0.5 GB the driver reserves
    assert second.memory_total_gb == 80.0
    assert second.temperature_c == 60.0
    assert second.power_w == 300.5  # mW → W
    assert second.energy_j == 7250.125  # mJ → J
    assert (second.sm_clock_mhz, second.memory_clock_mhz) == (1980.0, 2619.0)
    assert second.clocks_event_reasons == 0x44
    assert [(p.pid, p.used_bytes) for p in second.processes or ()] == [(1001, 15 * GB), (2002, 6 * GB)]
    assert second.deployment_memory_gb == 15.0
    assert first.deployment_memory_gb == 20.0
    assert second.errors == ()
    calls = answer["calls"]
    assert calls["nvmlInitWithFlags"] == {-1: 1}
    assert calls["nvmlShutdown"] == {-1: 1}
    assert calls["nvmlDeviceGetMemoryInfo_v2"] == {0: 1, 1: 1}
    assert calls["nvmlDeviceGetComputeRunningProcesses_v3"] == {0: 2, 1: 2}  # the size, then the list
    assert "nvmlDeviceGetMemoryInfo" not in calls


def test_window_aggregates_are_exact(run: Run) -> None:
    """Eight scripted ticks on two GPUs; the window spans ticks 2..6."""
    ticks = range(8)
    gpu0 = {
        "utilization": [f"{10 * (k + 1)}/5" for k in ticks],  # 10..80 %
        "memory": [memory(80 * GB, GB, (20 + k) * GB) for k in ticks],  # 20..27 GB used
        "processes": [processes((1001, (16 + k) * GB), (2001, 4 * GB)) for k in ticks],  # ours: 16..23
        "temperature": [50 + k for k in ticks],
        "power": [200_000 + 10_000 * k for k in ticks],  # 200..270 W
        "energy": [1_000_000 + 250_000 * k for k in ticks],  # +250 J a tick
    }
    gpu1 = {
        "utilization": ["30/5"],
        "memory": [memory(80 * GB, GB, 10 * GB)],
        "processes": [processes((1002, 6 * GB), (3001, 4 * GB))],  # ours: 6 GB, another deployment's: 4
        "temperature": [60],
        "power": [100_000],
        "energy": [2_000_000 + 100_000 * k for k in ticks],  # +100 J a tick
    }
    answer = run(
        Script(2).gpu(0, **gpu0).gpu(1, **gpu1),
        {"scenario": "sample", "gpus": [0, 1], "ticks": 8, "owner": {"pids": [1001, 1002]}},
    )
    samples = gpu_samples(answer["samples"])
    start, end = samples[4].t, samples[12].t  # tick 2 and tick 6 (two samples a tick)
    report = build_report(
        start,
        end,
        records(4, 175),
        GpuSource(samples, [0, 1], None, answer["field_reasons"]),
        ServerSource([]),
    )
    m = report.metrics
    assert m["gpu_utilization_percent"] == 40.0  # GPU 0: 30..70 → 50, GPU 1: 30
    assert m["gpu_memory_used_gb"] == 34.0  # 22..26 + 10
    assert m["gpu_memory_peak_gb"] == 36.0
    assert m["gpu_memory_total_gb"] == 160.0
    assert m["gpu_memory_deployment_gb"] == 26.0  # 18..22 + 6: neither 2001's nor 3001's memory
    assert m["gpu_memory_deployment_peak_gb"] == 28.0
    assert m["gpu_temperature_c"] == 57.0
    assert m["gpu_temperature_max_c"] == 60.0
    assert m["power_w_mean"] == 340.0  # 220..260 → 240, + 100
    assert m["energy_j"] == 1400.0  # the counters' deltas: 4 × 250 J + 4 × 100 J
    assert m["energy_j_per_generated_token"] == 2.0  # 1400 J / (4 × 175 tokens)
    assert {k: report.unavailable.get(k) for k in GPU_REPORT_FIELDS} == dict.fromkeys(GPU_REPORT_FIELDS)


def test_gpu_failing_mid_run_is_recorded_not_fatal(run: Run) -> None:
    lost = err(GPU_IS_LOST)
    fails_at_3 = {
        key: values * 3 + [lost]
        for key, values in steady(energy=[]).items()
        if key not in ("energy", "clock_sm", "clock_mem", "clocks_event_reasons")
    }
    fails_at_3["energy"] = [5_000_000, 5_100_000, 5_200_000, lost]
    answer = run(Script(1).gpu(0, **fails_at_3), {"scenario": "sample", "gpus": [0], "ticks": 6})
    assert answer["reason"] is None  # the sampler went on
    assert answer["ticks"] >= 6
    samples = gpu_samples(answer["samples"])
    assert [s.utilization_percent for s in samples[:6]] == [50.0, 50.0, 50.0, None, None, None]
    assert samples[3].errors == (
        ("memory_used_gb", "GPU 0: GPU is lost"),
        ("memory_total_gb", "GPU 0: GPU is lost"),
        ("utilization_percent", "GPU 0: GPU is lost"),
        ("power_w", "GPU 0: GPU is lost"),
        ("energy_j", "GPU 0: GPU is lost"),
        ("temperature_c", "GPU 0: GPU is lost"),
        ("processes", "GPU 0: GPU is lost"),
    )
    assert answer["calls"]["nvmlDeviceGetUtilizationRates"][0] == answer["ticks"]  # asked again every tick
    source = GpuSource(samples, [0], answer["reason"], answer["field_reasons"])
    before = build_report(samples[0].t, samples[2].t, [], source, ServerSource([]))
    assert before.metrics["gpu_utilization_percent"] == 50.0
    assert before.metrics["energy_j"] == 200.0
    after = build_report(samples[3].t, samples[5].t, [], source, ServerSource([]))
    for name in ("gpu_utilization_percent", "gpu_memory_used_gb", "gpu_temperature_c", "power_w_mean"):
        assert after.metrics[name] is None
        assert after.unavailable[name] == "GPU 0: GPU is lost"
    assert after.unavailable["energy_j"] == (
        "GPU 0 gave no energy counter or power reading"
        " (energy_j: GPU 0: GPU is lost; power_w: GPU 0: GPU is lost)"
    )


def test_board_without_power_readings_gives_nulls_with_the_reason(run: Run) -> None:
    no_power = steady(power=[err(NOT_SUPPORTED)], energy=[err(NOT_SUPPORTED)])
    answer = run(Script(1).gpu(0, **no_power), {"scenario": "sample", "gpus": [0], "ticks": 4})
    samples = gpu_samples(answer["samples"])
    assert {(s.power_w, s.energy_j) for s in samples} == {(None, None)}
    assert answer["field_reasons"] == {
        "deployment_memory_gb": NO_OWNER,
        "power_w": "GPU 0: Not Supported",
        "energy_j": "GPU 0: Not Supported",
    }
    assert answer["calls"]["nvmlDeviceGetPowerUsage"] == {0: 1}  # not asked again
    assert answer["calls"]["nvmlDeviceGetTotalEnergyConsumption"] == {0: 1}
    source = GpuSource(samples, [0], None, answer["field_reasons"])
    report = build_report(samples[0].t, samples[-1].t, records(2, 10), source, ServerSource([]))
    assert report.metrics["power_w_mean"] is None
    assert report.unavailable["power_w_mean"] == "GPU 0: Not Supported"
    why = (
        "GPU 0 gave no energy counter or power reading"
        " (energy_j: GPU 0: Not Supported; power_w: GPU 0: Not Supported)"
    )
    assert report.unavailable["energy_j"] == why
    assert report.unavailable["energy_j_per_generated_token"] == why
    assert report.metrics["gpu_utilization_percent"] == 50.0


def test_energy_from_power_where_the_board_has_no_counter(run: Run) -> None:
    answer = run(
        Script(1).gpu(0, **steady(energy=[err(NOT_SUPPORTED)])),
        {"scenario": "sample", "gpus": [0], "ticks": 3},
    )
    samples = gpu_samples(answer["samples"])
    report = build_report(samples[0].t, samples[0].t + 2.0, [], GpuSource(samples, [0]), ServerSource([]))
    assert report.metrics["energy_j"] == 500.0  # 250 W × 2 s


def test_older_drivers_fall_back_to_older_calls(run: Run) -> None:
    old = steady(
        memory_v2=[err(FUNCTION_NOT_FOUND)],
        processes_v3=[err(FUNCTION_NOT_FOUND)],
        processes_v2=[processes((1001, 3 * GB))],
        clocks_event_reasons=[err(FUNCTION_NOT_FOUND)],
        clocks_throttle_reasons=[0x8],
    )
    answer = run(
        Script(1).gpu(0, **old), {"scenario": "sample", "gpus": [0], "ticks": 3, "owner": {"pids": [1001]}}
    )
    samples = gpu_samples(answer["samples"])
    n = len(samples)
    assert {s.memory_used_gb for s in samples} == {20.5}  # v1's used includes the reserved 0.5 GB
    assert {s.clocks_event_reasons for s in samples} == {0x8}
    assert {s.deployment_memory_gb for s in samples} == {3.0}
    assert answer["field_reasons"] == {}
    calls = answer["calls"]
    assert calls["nvmlDeviceGetMemoryInfo_v2"] == {0: 1}
    assert calls["nvmlDeviceGetMemoryInfo"] == {0: n}
    assert calls["nvmlDeviceGetComputeRunningProcesses_v3"] == {0: 1}
    assert calls["nvmlDeviceGetComputeRunningProcesses_v2"] == {0: 2 * n}
    assert calls["nvmlDeviceGetCurrentClocksEventReasons"] == {0: 1}
    assert calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == {0: n}


def test_a_transient_error_is_retried(run: Run) -> None:
    answer = run(
        Script(1).gpu(0, **steady(temperature=[err(999), 50])),
        {"scenario": "sample", "gpus": [0], "ticks": 3},
    )
    temps = [s.temperature_c for s in gpu_samples(answer["samples"])]
    assert temps[:3] == [None, 50.0, 50.0]
    assert answer["field_reasons"] == {
        "deployment_memory_gb": NO_OWNER,
        "temperature_c": "GPU 0: Unknown Error",
    }


def test_driver_not_loaded(run: Run) -> None:
    script = Script(1, init=[err(DRIVER_NOT_LOADED)]).gpu(0, **steady())
    answer = run(script, {"scenario": "sample", "gpus": [0], "ticks": 1})
    assert answer["reason"] == "no NVIDIA GPU visible: Driver Not Loaded"
    assert answer["samples"] == []
    assert answer["thread_alive"] is False
    assert run(script, {"scenario": "probe"})["reason"] == "NVML: Driver Not Loaded"


def test_no_gpu_and_gpus_not_visible(run: Run) -> None:
    empty = Script(0)
    probe = run(empty, {"scenario": "probe"})
    assert (probe["count"], probe["names"], probe["reason"]) == (0, [], "NVML: no GPU found")
    unassigned = run(empty, {"scenario": "sample", "gpus": [], "ticks": 1})
    assert unassigned["reason"] == "no NVIDIA GPU visible (NVML: no GPU found)"
    one = Script(1).gpu(0, name=H100, **steady())
    missing = run(one, {"scenario": "sample", "gpus": [0, 3], "ticks": 1})
    assert missing["reason"] == "GPU index 3 not visible: NVML sees 1 GPU(s)"
    assert missing["samples"] == []
    assert missing["calls"]["nvmlShutdown"] == {-1: 1}
    assert run(one, {"scenario": "sample", "gpus": [], "ticks": 1})["reason"] == (
        "no GPU assigned to this deployment (1 visible; see --gpus)"
    )
    probe = run(one, {"scenario": "probe"})
    assert (probe["count"], probe["names"], probe["memory_total_gb"]) == (1, [H100], [80.0])


def test_without_a_container_deployment_memory_says_why(run: Run) -> None:
    answer = run(Script(1).gpu(0, **steady()), {"scenario": "sample", "gpus": [0], "ticks": 2})
    assert {s.deployment_memory_gb for s in gpu_samples(answer["samples"])} == {None}
    assert answer["field_reasons"] == {"deployment_memory_gb": NO_OWNER}


def test_slow_queries_every_fifth_tick(run: Run) -> None:
    request = {"scenario": "sample", "gpus": [0], "ticks": 10, "slow_every": 5, "owner": {"pids": [1001]}}
    answer = run(Script(1).gpu(0, **steady(temperature=[60, 61, 62])), request)
    samples = gpu_samples(answer["samples"])[:10]
    assert [s.utilization_percent for s in samples] == [50.0] * 10
    assert [s.temperature_c for s in samples] == [60.0, *[None] * 4, 61.0, *[None] * 4]
    assert [s.deployment_memory_gb for s in samples] == [20.0, *[None] * 4, 20.0, *[None] * 4]
    assert {s.errors for s in samples} == {()}
    ticks = answer["ticks"]
    calls = answer["calls"]
    assert calls["nvmlDeviceGetUtilizationRates"] == {0: ticks}
    assert calls["nvmlDeviceGetTemperature"] == {0: (ticks + 4) // 5}
    assert calls["nvmlDeviceGetComputeRunningProcesses_v3"] == {0: 2 * ((ticks + 4) // 5)}
    report = build_report(samples[0].t, samples[9].t, [], GpuSource(samples, [0]), ServerSource([]))
    assert (report.metrics["gpu_temperature_c"], report.metrics["gpu_memory_deployment_gb"]) == (60.5, 20.0)


def test_real_pynvml_without_gpu() -> None:
    """This host's own driver (or its absence), in this process: nothing is faked."""
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
    assert sampler.thread is not None
    assert not sampler.thread.is_alive()
