"""Window aggregates on hand-made records and samples: values, percentiles, and null-with-reason, never 0."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from evalclient.client.completion import Completion, ErrorKind, RequestError
from evalclient.client.requests import RequestKind
from evalclient.monitor.aggregate import (
    GPU_REPORT_FIELDS,
    ContainerSource,
    GpuSource,
    ServerSource,
    build_report,
)
from evalclient.monitor.container import ContainerSample
from evalclient.monitor.nvml import GpuSample
from evalclient.monitor.report import PERFORMANCE_FIELDS, PerformanceReport
from evalclient.monitor.server_metrics import ServerSample
from evalclient.monitor.stats import mean, percentile

START, END = 100.0, 110.0  # a 10 s window


def rec(i: int, latency: float, **kw: object) -> Completion:
    base: dict[str, object] = {
        "prompt_tokens": 100 + i,
        "completion_tokens": 50,
        "started_at": START + i,
        "finished_at": START + i + latency / 1000,
        "latency_ms": latency,
        "ttft_ms": latency / 10,
        "itl_ms": [10.0, 20.0],
    }
    base.update(kw)
    return Completion(str(i), RequestKind.CHAT, **base)  # type: ignore[arg-type]


def records() -> list[Completion]:
    ok = [rec(i, lat) for i, lat in enumerate([100.0, 200.0, 300.0, 400.0])]
    ok[1].attempts = 3
    failed = Completion("x", RequestKind.CHAT, attempts=4, latency_ms=5.0)
    failed.error = RequestError(ErrorKind.OVERLOADED, "HTTP 503 after 3 retries", 503)
    return [*ok, failed]


def gpu_samples(*, power: bool = True, energy: bool = True) -> list[GpuSample]:
    """Two GPUs sampled at t = 101..109; GPU 1 draws 100 W more; the energy counters follow the power."""
    out = []
    for k, t in enumerate(range(101, 110)):
        for g in (0, 1):
            watts = 300.0 + 100.0 * g
            out.append(
                GpuSample(
                    t=float(t),
                    gpu=g,
                    utilization_percent=50.0 + 20.0 * g,
                    memory_used_gb=10.0 + g * 10.0 + (5.0 if k == 4 else 0.0),
                    memory_total_gb=80.0,
                    temperature_c=60.0 + g * 10.0,
                    power_w=watts if power else None,
                    energy_j=1000.0 + watts * k if energy else None,
                    deployment_memory_gb=8.0 + g * 8.0 + (4.0 if k == 4 else 0.0),
                )
            )
    return out


def server_samples() -> list[ServerSample]:
    """Running batch 1..9 and KV-cache fraction 0.1..0.9 at t = 101..109."""
    return [
        ServerSample(float(t), float(t - 100), 0.0, 0.1 * (t - 100), None, None, None)
        for t in range(101, 110)
    ]


def container_samples() -> list[ContainerSample]:
    """CPU 150 %..250 % and 2..3 GB at t = 100.5..109.5; one OOM event before the window, one inside."""
    return [
        ContainerSample(t + 0.5, 150.0 + 25.0 * (t % 5), 2.0 + 0.25 * (t % 5), 64.0, 1 if t < 105 else 2, 4)
        for t in range(99, 110)
    ]


def full_report() -> PerformanceReport:
    return build_report(
        START,
        END,
        records(),
        GpuSource(gpu_samples(), [0, 1]),
        ServerSource(server_samples()),
        ContainerSource(container_samples()),
    )


def assert_consistent(report: PerformanceReport) -> None:
    assert set(report.metrics) == set(PERFORMANCE_FIELDS)
    for name, value in report.metrics.items():
        assert (value is None) == (name in report.unavailable), name
        if name in report.unavailable:
            assert report.unavailable[name], name
    json.dumps(report.to_dict(), allow_nan=False)


def test_request_metrics() -> None:
    m = full_report().metrics
    assert m["num_requests"] == 5
    assert m["num_errors"] == 1
    assert m["num_retries"] == 5
    assert m["window_s"] == 10.0
    assert m["avg_latency_ms"] == 250.0
    assert m["e2e_latency_ms_p50"] == 250.0
    assert m["e2e_latency_ms_p90"] == pytest.approx(370.0)
    assert m["e2e_latency_ms_p99"] == pytest.approx(397.0)
    assert m["ttft_ms_p50"] == pytest.approx(25.0)
    assert m["itl_ms_p50"] == pytest.approx(15.0)
    assert m["itl_ms_p99"] == 20.0  # pooled over requests: four 10s, four 20s
    assert m["throughput_tokens_per_second"] == 20.0  # 4 × 50 completion tokens / 10 s
    assert m["request_throughput_per_second"] == 0.4
    assert m["context_length_avg"] == 101.5
    assert m["total_tokens_processed"] == 406 + 200


def test_gpu_metrics_multi_gpu() -> None:
    m = full_report().metrics
    assert m["gpu_utilization_percent"] == 60.0  # mean across GPUs
    assert m["gpu_memory_used_gb"] == pytest.approx(30.0 + 10.0 / 9)  # summed over GPUs, mean over ticks
    assert m["gpu_memory_peak_gb"] == 40.0
    assert m["gpu_memory_total_gb"] == 160.0
    assert m["gpu_temperature_c"] == 65.0
    assert m["gpu_temperature_max_c"] == 70.0
    assert m["power_w_mean"] == 700.0
    assert m["energy_j"] == pytest.approx(7000.0)  # 700 W × 10 s, from the counters' slope
    assert m["energy_j_per_generated_token"] == pytest.approx(35.0)
    assert m["gpu_memory_deployment_gb"] == 224 / 9  # 8 + 16 GB, 32 GB at one of the nine ticks
    assert m["gpu_memory_deployment_peak_gb"] == 32.0


def test_container_metrics() -> None:
    m = full_report().metrics
    assert m["container_cpu_percent"] == 200.0  # 100.5..109.5: each of 150..250 twice
    assert m["container_memory_peak_gb"] == 3.0
    assert m["container_oom_events"] == 1  # 1 before the window, 2 at its end


def test_a_gpu_error_inside_the_window_is_the_reason() -> None:
    samples = [
        GpuSample(
            s.t,
            s.gpu,
            None,
            *[getattr(s, f) for f in ("memory_used_gb", "memory_total_gb")],
            s.temperature_c,
            s.power_w,
            s.energy_j,
            errors=(("utilization_percent", "GPU 1: GPU is lost"),),
        )
        if s.gpu == 1 and s.t >= 105
        else s
        for s in gpu_samples()
    ]
    source = GpuSource(samples, [0, 1], None, {"utilization_percent": "GPU 0: Unknown Error"})
    late = build_report(105.0, END, [], source, ServerSource([]))
    assert late.unavailable["gpu_utilization_percent"] == "GPU 1: GPU is lost"
    early = build_report(START, 104.0, [], source, ServerSource([]))
    assert early.metrics["gpu_utilization_percent"] == 60.0


def test_server_metrics() -> None:
    m = full_report().metrics
    assert m["inference_batch_size"] == 5.0
    assert m["memory_efficiency"] == pytest.approx(0.5)


def test_full_report_is_consistent() -> None:
    report = full_report()
    assert_consistent(report)
    assert report.unavailable == {}


def test_samples_outside_the_window_are_ignored() -> None:
    early = GpuSample(50.0, 0, 100.0, 79.0, 80.0, 99.0, 700.0, 0.0)
    late = ServerSample(200.0, 999.0, None, 1.0, None, None, None)
    report = build_report(
        START,
        END,
        records(),
        GpuSource([early, *gpu_samples()], [0, 1]),
        ServerSource([*server_samples(), late]),
    )
    assert report.metrics["gpu_temperature_max_c"] == 70.0
    assert report.metrics["inference_batch_size"] == 5.0


def test_energy_falls_back_to_power_without_counter() -> None:
    report = build_report(
        START, END, records(), GpuSource(gpu_samples(energy=False), [0, 1]), ServerSource([])
    )
    assert report.metrics["energy_j"] == pytest.approx(7000.0)


def test_energy_counter_reset_falls_back_to_power() -> None:
    samples = gpu_samples()
    samples[4] = GpuSample(samples[4].t, 0, 50.0, 10.0, 80.0, 60.0, 300.0, 0.0)  # counter went backwards
    report = build_report(START, END, records(), GpuSource(samples, [0, 1]), ServerSource([]))
    assert report.metrics["energy_j"] == pytest.approx(7000.0)


def test_no_gpu_every_gpu_field_null_with_reason() -> None:
    reason = "no NVIDIA GPU visible: NVML Shared Library Not Found"
    report = build_report(START, END, records(), GpuSource([], [0], reason), ServerSource(server_samples()))
    assert_consistent(report)
    for name in GPU_REPORT_FIELDS:
        assert report.metrics[name] is None
        assert report.unavailable[name] == reason
    assert report.unavailable["energy_j_per_generated_token"] == reason
    assert report.metrics["throughput_tokens_per_second"] == 20.0


def test_power_unsupported_energy_from_counter_only_where_possible() -> None:
    reasons = {"power_w": "GPU 0: Not Supported", "energy_j": "GPU 0: Not Supported"}
    samples = gpu_samples(power=False, energy=False)
    report = build_report(START, END, records(), GpuSource(samples, [0, 1], None, reasons), ServerSource([]))
    assert_consistent(report)
    assert report.unavailable["power_w_mean"] == "GPU 0: Not Supported"
    assert report.unavailable["energy_j"].startswith("GPU 0 gave no energy counter or power reading")
    assert report.metrics["gpu_utilization_percent"] == 60.0


def test_one_gpu_missing_a_field_does_not_undercount_the_sum() -> None:
    samples = [
        s if s.gpu == 0 else GpuSample(s.t, 1, 70.0, None, None, 70.0, 400.0, None) for s in gpu_samples()
    ]
    gpu = GpuSource(samples, [0, 1], None, {"memory_used_gb": "GPU 1: Unknown Error"})
    report = build_report(START, END, records(), gpu, ServerSource([]))
    assert report.metrics["gpu_memory_used_gb"] is None
    assert report.unavailable["gpu_memory_used_gb"] == "GPU 1: Unknown Error"


def test_no_server_metrics_reason() -> None:
    report = build_report(
        START, END, records(), GpuSource(gpu_samples(), [0, 1]), ServerSource([], "no /metrics URL")
    )
    assert report.unavailable["inference_batch_size"] == "no /metrics URL"
    assert report.unavailable["memory_efficiency"] == "no /metrics URL"


def test_server_without_kv_metric() -> None:
    samples = [ServerSample(105.0, 3.0, 0.0, None, None, None, None)]
    reasons = {"kv_cache_fraction": "server exposes no KV-cache metric (looked for x)"}
    report = build_report(
        START, END, records(), GpuSource([], [0], "no GPU"), ServerSource(samples, None, reasons)
    )
    assert report.metrics["inference_batch_size"] == 3.0
    assert report.metrics["memory_efficiency"] is None
    assert report.unavailable["memory_efficiency"] == "server exposes no KV-cache metric (looked for x)"


def test_window_shorter_than_the_sampling_interval() -> None:
    report = build_report(105.1, 105.4, [], GpuSource(gpu_samples(), [0, 1]), ServerSource(server_samples()))
    assert_consistent(report)
    assert report.unavailable["gpu_utilization_percent"] == "no GPU sample inside the 0.300 s window"
    assert report.unavailable["inference_batch_size"] == "no /metrics sample inside the 0.300 s window"


def test_no_successful_requests_nulls_not_zeros() -> None:
    failed = [
        Completion(str(i), RequestKind.CHAT, error=RequestError(ErrorKind.TIMEOUT, "timeout"))
        for i in range(3)
    ]
    report = build_report(START, END, failed, GpuSource(gpu_samples(), [0, 1]), ServerSource([]))
    assert_consistent(report)
    names = ["avg_latency_ms", "e2e_latency_ms_p50", "ttft_ms_p90", "itl_ms_p99", "context_length_avg"]
    names += ["throughput_tokens_per_second", "request_throughput_per_second", "total_tokens_processed"]
    for name in names:
        assert report.metrics[name] is None, name
        assert report.unavailable[name] == "no successful requests"
    assert report.metrics["num_errors"] == 3
    assert report.unavailable["energy_j_per_generated_token"] == "no successful requests"


def test_no_requests_at_all() -> None:
    report = build_report(START, END, [], GpuSource([], [0], "no GPU"), ServerSource([], "no URL"))
    assert_consistent(report)
    assert report.metrics["num_requests"] == 0
    assert report.unavailable["avg_latency_ms"] == "no requests in the window"
    measured = {k for k, v in report.metrics.items() if v is not None}
    assert measured == {"num_requests", "num_errors", "num_retries", "window_s"}


def test_missing_server_token_counts() -> None:
    recs = records()
    recs[2].completion_tokens = None
    report = build_report(START, END, recs, GpuSource([], [0], "no GPU"), ServerSource([]))
    why = "the server did not count completion tokens for 1 of 4 successful requests"
    assert report.unavailable["throughput_tokens_per_second"] == why
    assert report.unavailable["total_tokens_processed"] == why
    assert report.metrics["context_length_avg"] == 101.5


def test_non_streamed_requests_have_no_ttft_or_itl() -> None:
    recs = [rec(i, 100.0, ttft_ms=None, itl_ms=[]) for i in range(3)]
    report = build_report(START, END, recs, GpuSource([], [0], "no GPU"), ServerSource([]))
    assert report.unavailable["ttft_ms_p50"] == "no streamed request reported a first-token time"
    assert report.unavailable["itl_ms_p50"] == "no streamed request produced two or more tokens"
    assert report.metrics["avg_latency_ms"] == 100.0


def test_zero_generated_tokens_is_measured_but_energy_per_token_is_not() -> None:
    recs = [rec(i, 100.0, completion_tokens=0) for i in range(2)]
    report = build_report(START, END, recs, GpuSource(gpu_samples(), [0, 1]), ServerSource([]))
    assert report.metrics["throughput_tokens_per_second"] == 0.0
    assert report.unavailable["energy_j_per_generated_token"] == "no tokens were generated"


def test_percentile_matches_numpy_linear() -> None:
    rng = random.Random(7)
    values = [rng.uniform(0, 1000) for _ in range(257)]
    for q in (0, 1, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None
    assert percentile([None, float("nan"), 3.0], 50) == 3.0
    assert mean([None, float("inf")]) is None


def test_report_roundtrip_and_defaults() -> None:
    report = full_report()
    again = PerformanceReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.metrics == report.metrics
    assert again.unavailable == report.unavailable
    empty = PerformanceReport()
    assert set(empty.unavailable) == set(PERFORMANCE_FIELDS)
