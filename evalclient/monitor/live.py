"""`LivePerformanceMonitor`: one deployment's GPU, /metrics and container samplers, named windows, the file.

    monitor = LivePerformanceMonitor(metric_names=adapter.metric_names, metrics_url=url, session=session,
                                     gpu_indices=[0], max_batch_total_tokens=16000,
                                     container=DockerContainerProbe(...),
                                     samples_path=results / "metrics/performance/m_p.csv")
    await monitor.start()
    try:
        with monitor.window("gsm8k"):
            records = await client.run(requests)
        report = monitor.performance_metrics("gsm8k", records)
    finally:
        await monitor.stop()

The NVML sampler (10 Hz by default), the container sampler and the file writer are daemon threads; the
/metrics scraper is a task on the caller's session. With a `samples_path`, samples stream to that CSV as they
come and memory keeps only the current and the previous window's. `start` and `stop` are idempotent; `stop`
is safe after a failed or cancelled `start` and leaves no thread or task behind, waiting for the threads
without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from evalclient.client.completion import Completion
from evalclient.errors import EvalClientError
from evalclient.monitor.aggregate import ContainerSource, GpuSource, ServerSource, build_report
from evalclient.monitor.container import ContainerProbe, ContainerSampler
from evalclient.monitor.live_line import format_live_line
from evalclient.monitor.nvml import NvmlSampler
from evalclient.monitor.report import PerformanceReport
from evalclient.monitor.rows import Window, samples_to_rows
from evalclient.monitor.samplelog import SampleLog
from evalclient.monitor.server_metrics import ServerMetricNames, ServerMetricsScraper
from evalclient.monitor.sink import SampleFileWriter

log = logging.getLogger(__name__)

_POLL_S = 0.005
NO_CONTAINER = "the server does not run in a container evalclient started"


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
        metric_names: ServerMetricNames,
        metrics_url: str | None,
        session: aiohttp.ClientSession | None,
        gpu_indices: Sequence[int],
        max_batch_total_tokens: int | None,
        interval_s: float = 0.1,
        metrics_interval_s: float = 0.5,
        container: ContainerProbe | None = None,
        container_interval_s: float = 1.0,
        samples_path: Path | None = None,
        run_id: str | None = None,
        nvml: Any = None,
    ) -> None:
        for name, value in (
            ("interval", interval_s),
            ("metrics interval", metrics_interval_s),
            ("container interval", container_interval_s),
        ):
            if value <= 0:
                raise EvalClientError(f"monitor {name} must be positive, got {value}")
        self.names = metric_names
        self.metrics_url = metrics_url
        self.session = session
        self.gpu_indices = tuple(gpu_indices)
        self.max_batch_total_tokens = max_batch_total_tokens
        self.interval_s = interval_s
        self.metrics_interval_s = metrics_interval_s
        self.container = container
        self.container_interval_s = container_interval_s
        self.samples_path = samples_path
        self.run_id = run_id
        self._nvml = nvml
        self._sampler: NvmlSampler | None = None
        self._scraper: ServerMetricsScraper | None = None
        self._containers: ContainerSampler | None = None
        self._writer: SampleFileWriter | None = None
        self._writer_starting: asyncio.Future[None] | None = None
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
            if self.container is not None:
                self._containers = ContainerSampler(self.container, interval_s=self.container_interval_s)
                self._containers.start()
            self._sampler = NvmlSampler(
                self.gpu_indices, interval_s=self.interval_s, nvml=self._nvml, owner=self._containers
            )
            self._sampler.start()
            if self.metrics_url and self.session is not None:
                self._scraper = ServerMetricsScraper(
                    self.session,
                    self.metrics_url,
                    self.names,
                    interval_s=self.metrics_interval_s,
                    max_batch_total_tokens=self.max_batch_total_tokens,
                )
                self._scraper.start()
            if self.samples_path is not None:
                await self._start_writer(self.samples_path)
            events = [self._sampler.ready] + ([self._containers.ready] if self._containers else [])
            if not await _wait_until(lambda: all(e.is_set() for e in events), ready_timeout_s):
                log.warning(
                    "the GPU or container sampler gave no reading within %.1f s; sampling goes on",
                    ready_timeout_s,
                )
        except BaseException:
            await self.stop()
            raise

    async def _start_writer(self, path: Path) -> None:
        writer = SampleFileWriter(
            path, self._logs(), lambda: list(self._windows.values()), self._clock_anchor, run_id=self.run_id
        )
        self._writer = writer
        self._writer_starting = asyncio.ensure_future(asyncio.to_thread(writer.start))
        try:
            await asyncio.shield(self._writer_starting)
        except OSError as err:
            log.error("cannot write monitor samples to %s (%s); they stay in memory only", path, err)
            self._writer = None

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the scraper and the threads, the file last; idempotent, safe in `finally` after `start`."""
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()
        self._started = True
        for sampler in (self._sampler, self._containers):
            if sampler is not None:
                sampler.request_stop()
        if self._scraper is not None:
            await self._scraper.stop()
        await self._join(self._sampler.thread if self._sampler else None, "GPU sampler", timeout_s)
        await self._join(
            self._containers.thread if self._containers else None, "container sampler", timeout_s
        )
        starting = self._writer_starting
        if starting is not None:  # a start cancelled while it opened the file
            await asyncio.wait([starting], timeout=timeout_s)
            if starting.done() and not starting.cancelled() and starting.exception() is not None:
                self._writer = None
        if self._writer is not None:
            self._writer.request_stop()
            await self._join(self._writer.thread, "samples writer", timeout_s)

    @staticmethod
    async def _join(thread: threading.Thread | None, what: str, timeout_s: float) -> None:
        if thread is not None and not await _wait_until(lambda: not thread.is_alive(), timeout_s):
            log.warning(
                "%s thread still busy after %.1f s (inside a blocking call); left as a daemon",
                what,
                timeout_s,
            )

    @contextmanager
    def window(self, name: str) -> Iterator[Window]:
        """Mark [enter, exit] in time.monotonic() as the window `name` (one per dataset); names are unique."""
        if name in self._windows:
            raise EvalClientError(f"monitor window {name!r} already exists", hint="give each dataset its own")
        span = Window(name, time.monotonic())
        self._release_before(span.start)
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
        return build_report(
            span.start,
            end,
            records,
            self._gpu_source(span.start, end),
            self._server_source(span.start, end),
            self._container_source(),
        )

    def samples_rows(self) -> list[dict[str, Any]]:
        """Every raw sample held in memory, in time order, as rows for a CSV (see `rows.ROW_COLUMNS`)."""
        samples = [sample for log_ in self._logs() for sample in log_.snapshot()]
        return samples_to_rows(samples, list(self._windows.values()), self._clock_anchor, self.run_id)

    def live_line(self) -> str | None:
        """Each GPU's utilization, memory and power, the server's batch and tokens/s; cheap, any thread."""
        gpus = self._sampler.log.latest(len(self.gpu_indices)) if self._sampler is not None else []
        server = self._scraper.samples.latest(16) if self._scraper is not None else []
        return format_live_line(gpus, server)

    def status(self) -> dict[str, Any]:
        """For logs and provenance: why GPU, server or container metrics are missing, counts, cost."""
        gpu, server, container = self._gpu_source(), self._server_source(), self._container_source()
        sampler, containers, writer = self._sampler, self._containers, self._writer
        return {
            "gpu_indices": list(self.gpu_indices),
            "gpu_samples": sampler.log.count if sampler is not None else 0,
            "gpu_unavailable": gpu.reason,
            "gpu_field_errors": dict(gpu.field_reasons),
            "gpu_sampler_cpu_s": sampler.cpu_s if sampler is not None else 0.0,
            "metrics_url": self.metrics_url,
            "server_samples": self._scraper.samples.count if self._scraper is not None else 0,
            "server_scrapes": self._scraper.scrapes if self._scraper is not None else 0,
            "server_scrape_failures": self._scraper.failures if self._scraper is not None else 0,
            "server_unavailable": server.reason,
            "container": self.container.name if self.container is not None else None,
            "container_samples": containers.log.count if containers is not None else 0,
            "container_failures": containers.failures if containers is not None else 0,
            "container_oom_events": containers.oom_events if containers is not None else 0,
            "container_unavailable": container.reason,
            "samples_file": str(writer.path) if writer is not None else None,
            "samples_file_rows": writer.rows_written if writer is not None else 0,
            "samples_file_error": writer.error if writer is not None else None,
        }

    def _release_before(self, t: float) -> None:
        """Drop samples that are on disk and older than the last window opened before `t` (memory stays
        bounded on long runs; reports of the current and previous window keep their samples)."""
        writer = self._writer
        if writer is None or not self._windows:
            return
        keep_from = min(max(w.start for w in self._windows.values()), writer.written_until, t)
        for source, position in zip(self._logs(), writer.positions, strict=True):
            source.drop_before(keep_from, position)

    def _logs(self) -> list[SampleLog[Any]]:
        """The sample logs of the samplers that exist, in a fixed order (the writer's positions follow it)."""
        logs: list[SampleLog[Any]] = [s.log for s in (self._sampler, self._containers) if s is not None]
        if self._scraper is not None:
            logs.append(self._scraper.samples)
        return logs

    def _gpu_source(self, start: float | None = None, end: float | None = None) -> GpuSource:
        sampler = self._sampler
        if sampler is None:
            return GpuSource([], self.gpu_indices, "GPU sampler not started")
        samples = sampler.log.snapshot() if start is None or end is None else sampler.log.between(start, end)
        return GpuSource(samples, self.gpu_indices, sampler.reason, sampler.field_reasons())

    def _server_source(self, start: float | None = None, end: float | None = None) -> ServerSource:
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
        log_ = scraper.samples
        samples = log_.snapshot() if start is None or end is None else log_.between(start, end)
        return ServerSource(samples, reason, scraper.field_reasons())

    def _container_source(self) -> ContainerSource:
        if self.container is None:
            return ContainerSource([], NO_CONTAINER)
        if self._containers is None:
            return ContainerSource([], "container sampler not started")
        return ContainerSource(self._containers.log.snapshot(), self._containers.reason())
