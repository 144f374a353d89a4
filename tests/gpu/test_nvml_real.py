"""The monitor against the real NVML driver; skipped where no NVIDIA GPU is visible."""

from __future__ import annotations

import asyncio

import pytest

from evalclient.engines import get_adapter
from evalclient.monitor import LivePerformanceMonitor, probe_gpus

PROBE = probe_gpus()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not PROBE.available, reason=f"no NVIDIA GPU: {PROBE.reason}"),
]


def test_probe_names_every_gpu() -> None:
    assert PROBE.count >= 1
    assert all(name for name in PROBE.names)
    assert all(total is not None and total > 1 for total in PROBE.memory_total_gb)


async def test_window_has_real_gpu_readings() -> None:
    monitor = LivePerformanceMonitor(
        metric_names=get_adapter("tgi").metric_names,
        metrics_url=None,
        session=None,
        gpu_indices=[0],
        max_batch_total_tokens=None,
        interval_s=0.1,
    )
    await monitor.start()
    try:
        with monitor.window("idle"):
            await asyncio.sleep(1.0)
    finally:
        await monitor.stop()
    report = monitor.performance_metrics("idle", [])
    for field in (
        "gpu_utilization_percent",
        "gpu_memory_used_gb",
        "gpu_memory_total_gb",
        "gpu_temperature_c",
    ):
        assert report.metrics[field] is not None, report.unavailable.get(field)
    assert report.metrics["gpu_memory_total_gb"] > 1
