"""The deployment's container, sampled beside the GPU: CPU %, memory and its limit, OOM events, its PIDs.

A daemon thread asks the Docker engine every `interval_s` for one-shot stats (a few ms, where a streamed
`stats` call takes two seconds) and for the OOM events since its last look, and every `pid_interval_s` for
the container's processes (`top`, host PIDs as NVML reports them). The GPU sampler asks for an early look
when a PID it has not seen holds GPU memory, so a worker the server spawns is attributed within a second.
Every Docker call blocks, so none runs on the event loop; a failing call is counted and logged, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from evalclient.monitor.container_stats import (
    BYTES_PER_GB,
    cpu_percent,
    memory_limit_bytes,
    memory_used_bytes,
    pids_from_top,
)
from evalclient.monitor.samplelog import SampleLog

log = logging.getLogger(__name__)

MIN_PID_REFRESH_S = 0.5


@dataclass(frozen=True, slots=True)
class ContainerSample:
    """One look at the container at `t` (`time.monotonic()`); `oom_events` counts since sampling began."""

    t: float
    cpu_percent: float | None
    memory_used_gb: float | None
    memory_limit_gb: float | None
    oom_events: int
    processes: int | None


class ContainerProbe(Protocol):
    """The blocking questions the sampler asks about one container (Docker's answers, or a test's)."""

    name: str

    def stats(self) -> Mapping[str, Any]:
        """One Docker stats document (`cpu_stats`, `precpu_stats`, `memory_stats`)."""

    def pids(self) -> frozenset[int]:
        """Host PIDs of every process in the container."""

    def oom_events(self, since_unix: float, until_unix: float) -> list[int]:
        """`timeNano` of each OOM event of the container in [since, until] (unix seconds)."""


class DockerContainerProbe:
    """`ContainerProbe` over the Docker SDK's low-level API."""

    def __init__(self, client: Any, container_id: str, name: str | None = None) -> None:
        self.client = client
        self.container_id = container_id
        self.name = name or container_id[:12]

    def stats(self) -> Mapping[str, Any]:
        import docker.errors

        try:
            return dict(self.client.api.stats(self.container_id, stream=False, one_shot=True))
        except docker.errors.InvalidVersion:  # an engine before API 1.41: the two-second call
            return dict(self.client.api.stats(self.container_id, stream=False))

    def pids(self) -> frozenset[int]:
        return pids_from_top(self.client.api.top(self.container_id))

    def oom_events(self, since_unix: float, until_unix: float) -> list[int]:
        events = self.client.events(
            since=f"{since_unix:.9f}",
            until=f"{until_unix:.9f}",
            filters={"container": self.container_id, "event": "oom"},
            decode=True,
        )
        return [int(e.get("timeNano") or int(e.get("time", 0) * 1e9)) for e in events]


class ContainerSampler:
    """Samples one container on a daemon thread; also the `ProcessOwner` of the GPU sampler."""

    def __init__(
        self, probe: ContainerProbe, *, interval_s: float = 1.0, pid_interval_s: float = 5.0
    ) -> None:
        self.probe = probe
        self.interval_s = interval_s
        self.pid_interval_s = pid_interval_s
        self.log: SampleLog[ContainerSample] = SampleLog()
        self.ready = threading.Event()
        self.failures = 0
        self.last_error: str | None = None
        self.oom_events = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._pids: frozenset[int] | None = None
        self._pending: set[int] = set()
        self._checked: set[int] = set()
        self._seen_events: set[int] = set()
        self._previous: Mapping[str, Any] | None = None
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="evalclient-container-sampler", daemon=True
            )
            self._thread.start()

    def request_stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def pids(self) -> frozenset[int] | None:
        return self._pids

    def note_unknown_pids(self, pids: frozenset[int]) -> None:
        with self._lock:
            new = pids - self._checked - (self._pids or frozenset())
            if new and not new <= self._pending:
                self._pending |= new
                self._wake.set()

    def samples(self) -> list[ContainerSample]:
        return self.log.snapshot()

    def reason(self) -> str | None:
        """Why there may be no container sample: the last failure, when every look failed."""
        if self.failures and not self.log.count:
            return f"container stats unavailable ({self.failures} failed looks; last: {self.last_error})"
        return None

    def _run(self) -> None:
        since_unix = time.time()
        next_stats = next_pids = time.monotonic()
        last_pids = -MIN_PID_REFRESH_S
        try:
            while not self._stopping:
                now = time.monotonic()
                if now >= next_pids or (self._pending and now - last_pids >= MIN_PID_REFRESH_S):
                    self._refresh_pids()
                    last_pids = now
                    next_pids = now + self.pid_interval_s
                if now >= next_stats:
                    since_unix = self._sample(since_unix)
                    next_stats = max(next_stats + self.interval_s, now)
                self.ready.set()
                wait = min(next_stats, next_pids) - time.monotonic()
                if self._pending:
                    wait = min(wait, last_pids + MIN_PID_REFRESH_S - time.monotonic())
                self._wake.wait(max(0.0, wait))
                self._wake.clear()
        finally:
            self.ready.set()

    def _refresh_pids(self) -> None:
        try:
            pids = self.probe.pids()
        except Exception as err:
            self._failed("top", err)
            return
        with self._lock:
            self._checked |= self._pending - pids
            self._pending.clear()
            self._pids = pids

    def _sample(self, since_unix: float) -> float:
        """One stats document and the OOM events since `since_unix`; returns where the next look starts."""
        until_unix = time.time()
        try:
            stats = self.probe.stats()
            events = self.probe.oom_events(since_unix, until_unix)
        except Exception as err:
            self._failed("stats", err)
            return since_unix
        new = set(events) - self._seen_events
        if new:
            self._seen_events |= new
            self.oom_events += len(new)
            log.warning("%s: %d OOM event(s) in the container", self.probe.name, len(new))
        used, limit = memory_used_bytes(stats), memory_limit_bytes(stats)
        pids = self._pids
        self.log.append(
            ContainerSample(
                t=time.monotonic(),
                cpu_percent=cpu_percent(stats, self._previous),
                memory_used_gb=None if used is None else used / BYTES_PER_GB,
                memory_limit_gb=None if limit is None else limit / BYTES_PER_GB,
                oom_events=self.oom_events,
                processes=None if pids is None else len(pids),
            )
        )
        self._previous = stats
        return until_unix

    def _failed(self, what: str, err: Exception) -> None:
        self.failures += 1
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        level = logging.DEBUG if self.last_error == text else logging.WARNING
        log.log(level, "%s: container %s failed: %s", self.probe.name, what, text)
        self.last_error = text
