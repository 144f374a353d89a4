"""`LivePerformanceMonitor`: NVML sampler thread + /metrics scraper task for one deployment, named windows.

    monitor = LivePerformanceMonitor(engine="tgi", metrics_url=url, session=session, gpu_indices=[0],
                                     max_batch_total_tokens=16000)
    await monitor.start()
    try:
        with monitor.window("gsm8k"):
            records = await client.run(requests)
        report = monitor.performance_metrics("gsm8k", records)
    finally:
        await monitor.stop()

`start` and `stop` are idempotent; `stop` is safe after a failed or cancelled `start` and leaves no thread or
task behind. Blocking NVML calls only ever run on the sampler thread; `stop` waits for it without blocking
the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aiohttp

from evalclient.client.completion import Completion
from evalclient.errors import EvalClientError
from evalclient.monitor.aggregate import GpuSource, ServerSource, build_report
from evalclient.monitor.nvml import NvmlSampler
from evalclient.monitor.report import PerformanceReport
from evalclient.monitor.rows import Window, samples_to_rows
from evalclient.monitor.server_metrics import ServerMetricsScraper, metric_names_for

log = logging.getLogger(__name__)

_POLL_S = 0.005


async def _wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll `condition` without blocking the loop (no executor thread is created)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_S)
    return True


class LivePerformanceMonitor:
    """Live GPU and server performance of one deployment, reported per named window (DESIGN §5)."""

    def __init__(
        self,
        *,
        engine: str,
        metrics_url: str | None,
        session: aiohttp.ClientSession | None,
        gpu_indices: Sequence[int],
        max_batch_total_tokens: int | None,
        interval_s: float = 0.5,
        nvml: Any = None,
    ) -> None:
        if interval_s <= 0:
            raise EvalClientError(f"monitor interval must be positive, got {interval_s}")
        self.names = metric_names_for(engine)
        self.metrics_url = metrics_url
        self.session = session
        self.gpu_indices = tuple(gpu_indices)
        self.max_batch_total_tokens = max_batch_total_tokens
        self.interval_s = interval_s
        self._nvml = nvml
        self._sampler: NvmlSampler | None = None
        self._scraper: ServerMetricsScraper | None = None
        self._windows: dict[str, Window] = {}
        self._started = False
        self._stopped_at: float | None = None
        self._clock_anchor = (time.monotonic(), time.time())

    @property
    def running(self) -> bool:
        return self._started and self._stopped_at is None

    @property
    def windows(self) -> dict[str, Window]:
        return dict(self._windows)

    async def start(self, ready_timeout_s: float = 10.0) -> None:
        """Start sampling (once) and wait until NVML has answered or failed; a second call does nothing."""
        if self._started:
            if self._stopped_at is not None:
                raise EvalClientError("this performance monitor was stopped", hint="create a new one")
            return
        self._started = True
        try:
            self._sampler = NvmlSampler(self.gpu_indices, interval_s=self.interval_s, nvml=self._nvml)
            self._sampler.start()
            if self.metrics_url and self.session is not None:
                self._scraper = ServerMetricsScraper(
                    self.session,
                    self.metrics_url,
                    self.names,
                    interval_s=self.interval_s,
                    max_batch_total_tokens=self.max_batch_total_tokens,
                )
                self._scraper.start()
            if not await _wait_until(self._sampler.ready.is_set, ready_timeout_s):
                log.warning("NVML gave no reading within %.1f s; sampling goes on", ready_timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the scraper task and the sampler thread; idempotent, safe in `finally` after any `start`."""
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()
        self._started = True
        if self._sampler is not None:
            self._sampler.request_stop()
        if self._scraper is not None:
            await self._scraper.stop()
        thread = self._sampler.thread if self._sampler is not None else None
        if thread is not None and not await _wait_until(lambda: not thread.is_alive(), timeout_s):
            log.warning(
                "GPU sampler thread still inside an NVML call after %.1f s; left as a daemon", timeout_s
            )

    @contextmanager
    def window(self, name: str) -> Iterator[Window]:
        """Mark [enter, exit] in time.monotonic() as the window `name` (one per dataset); names are unique."""
        if name in self._windows:
            raise EvalClientError(f"monitor window {name!r} already exists", hint="give each dataset its own")
        span = Window(name, time.monotonic())
        self._windows[name] = span
        try:
            yield span
        finally:
            span.end = time.monotonic()

    def performance_metrics(self, window_name: str, records: Sequence[Completion]) -> PerformanceReport:
        """The performance_metrics of one window; `records` are that window's requests (all of them)."""
        span = self._windows.get(window_name)
        if span is None:
            known = ", ".join(self._windows) or "none"
            raise EvalClientError(f"no monitor window named {window_name!r}", hint=f"known windows: {known}")
        end = span.end if span.end is not None else (self._stopped_at or time.monotonic())
        return build_report(span.start, end, records, self._gpu_source(), self._server_source())

    def samples_rows(self) -> list[dict[str, Any]]:
        """Every raw GPU and /metrics sample, in time order, as rows for a CSV (see `rows.ROW_COLUMNS`)."""
        gpu = self._sampler.samples() if self._sampler is not None else []
        server = list(self._scraper.samples) if self._scraper is not None else []
        return samples_to_rows(gpu, server, list(self._windows.values()), self._clock_anchor)

    def status(self) -> dict[str, Any]:
        """For logs and provenance: why GPU or server metrics are missing, sample and failure counts."""
        gpu, server = self._gpu_source(), self._server_source()
        return {
            "gpu_indices": list(self.gpu_indices),
            "gpu_samples": len(gpu.samples),
            "gpu_unavailable": gpu.reason,
            "gpu_field_errors": dict(gpu.field_reasons),
            "metrics_url": self.metrics_url,
            "server_samples": len(server.samples),
            "server_scrapes": self._scraper.scrapes if self._scraper is not None else 0,
            "server_scrape_failures": self._scraper.failures if self._scraper is not None else 0,
            "server_unavailable": server.reason,
        }

    def _gpu_source(self) -> GpuSource:
        sampler = self._sampler
        if sampler is None:
            return GpuSource([], self.gpu_indices, "GPU sampler not started")
        return GpuSource(sampler.samples(), self.gpu_indices, sampler.reason, sampler.field_reasons())

    def _server_source(self) -> ServerSource:
        scraper = self._scraper
        if not self.metrics_url:
            return ServerSource([], "no /metrics URL for this server")
        if self.session is None:
            return ServerSource([], "no HTTP session given to scrape /metrics")
        if scraper is None:
            return ServerSource([], "server metrics scraper not started")
        reason = None
        if scraper.failures:
            reason = (
                f"no successful /metrics scrape inside the window ({scraper.failures} of {scraper.scrapes}"
                f" scrapes failed; last error: {scraper.last_error})"
            )
        return ServerSource(list(scraper.samples), reason, scraper.field_reasons())
