"""Live performance monitoring: NVML GPU sampling with per-container attribution, server /metrics scraping,
container stats, windows and aggregates, samples streamed to CSV, the live line."""

from evalclient.monitor.live import LivePerformanceMonitor
from evalclient.monitor.nvml import GpuProbe, probe_gpus
from evalclient.monitor.report import FIELD_UNITS, PERFORMANCE_FIELDS, PerformanceReport
from evalclient.monitor.server_metrics import ServerMetricNames

__all__ = [
    "FIELD_UNITS",
    "PERFORMANCE_FIELDS",
    "GpuProbe",
    "LivePerformanceMonitor",
    "PerformanceReport",
    "ServerMetricNames",
    "probe_gpus",
]
