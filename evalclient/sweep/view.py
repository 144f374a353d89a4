"""What a sweep shows while it runs, on stderr.

On a terminal: one live block, redrawn four times a second, under the lines already printed:

    sweep ━━━━━━━━━━━━━━━━━━━━────────────  7/24 combinations · 2 running · 3:12 elapsed · ETA ~4 min
      vGPU 0  qwen2.5_8b/balanced   gsm8k ━━━━━━━━━━━━──────── 45/100 · 0:12
              GPU0 87% 61.2/80.0 GB 412 W · batch 12 · 1,234 tok/s
      vGPU 1  qwen3_8b/performance  loading weights · 0:41

On a pipe or in a CI log: no cursor movement, one line per event (a deployment starting, ready, a dataset
starting and ending, a deployment ending, the sweep's count after each combination) and each deployment's
monitor line at most once a minute. With --quiet: warnings only.

The ETA is the elapsed time scaled by the share of the sweep's samples not yet answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

log = logging.getLogger(__name__)

LiveStatus = Callable[[], str | None]
PLAIN_STATUS_EVERY_S = 60.0
_BAR = 24


class TaskProgress(Protocol):
    """What long work reports to: notes, and a counter per batch of requests."""

    def note(self, message: str) -> None: ...

    def task(self, description: str, total: int) -> AbstractContextManager[Callable[[], None]]: ...


class DeploymentDisplay(TaskProgress, Protocol):
    """What a deployment shows: its stage, notes, its datasets' requests, its monitor line, how it ended."""

    def stage(self, text: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def set_live_status(self, status: LiveStatus | None) -> None: ...

    def finish(self, text: str) -> None: ...


def read_status(status: LiveStatus | None) -> str | None:
    """The status line, or None; a failing source never takes the display down."""
    if status is None:
        return None
    try:
        return status()
    except Exception:
        log.debug("live status line failed", exc_info=True)
        return None


@dataclass
class _Line:
    """One active deployment's state."""

    key: str
    slot: str
    stage: str = "queued"
    since: float = field(default_factory=time.monotonic)
    dataset: str | None = None
    done: int = 0
    total: int = 0
    status: LiveStatus | None = None
    status_printed_at: float = float("-inf")


class SweepView:
    """The sweep's display; silent when disabled (tests, --quiet) except for warnings."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self.live_mode = enabled and self.console.is_terminal
        self.total = 0
        self.finished = 0
        self._weights: dict[str, int] = {}
        self._answered: dict[str, float] = {}
        self._lines: dict[str, _Line] = {}
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._live: Live | None = None

    # -- the whole sweep --------------------------------------------------------------------------------

    def expect(self, combinations: dict[str, int | None]) -> None:
        """The combinations of the sweep (key → samples, None for a whole split: counted as 150)."""
        self._weights = {key: n or 150 for key, n in combinations.items()}
        self.total = len(combinations)

    @contextmanager
    def showing(self) -> Iterator[SweepView]:
        """Draw the live block for the duration (on a terminal; a no-op elsewhere)."""
        self._started = time.monotonic()
        if not self.live_mode:
            yield self
            return
        live = Live(console=self.console, refresh_per_second=4, transient=True, get_renderable=self._render)
        with live:
            self._live = live
            try:
                yield self
            finally:
                self._live = None

    def combination_finished(self, key: str, status: str) -> None:
        """A combination ended (any status): count it and, on a pipe, print where the sweep stands."""
        with self._lock:
            self.finished += 1
            self._answered[key] = self._weights.get(key, 0)
        if self.enabled and not self.live_mode:
            self.console.print(f"sweep: {self.finished}/{self.total} combinations{self._eta_part()}")

    def note(self, message: str) -> None:
        if self.enabled:
            self.console.print(message, soft_wrap=True, highlight=False)

    def warn(self, message: str) -> None:
        """A line the user must see even with progress off (--quiet)."""
        self.console.print(message, soft_wrap=True, highlight=False)

    def deployment(self, key: str, slot: str) -> DeploymentView:
        """The display of one deployment; `close` it when the deployment ends."""
        with self._lock:
            self._lines[key] = _Line(key, slot)
        return DeploymentView(self, key)

    # -- rendering --------------------------------------------------------------------------------------

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far; None before 2% of the samples are answered."""
        with self._lock:
            total = sum(self._weights.values())
            done = sum(self._answered.values())
        if total <= 0 or done / total < 0.02:
            return None
        elapsed = time.monotonic() - self._started
        return elapsed * (total - done) / done

    def _eta_part(self, separator: str = ",") -> str:
        eta = self.eta_s()
        return "" if eta is None or self.finished >= self.total else f"{separator} ETA ~{_clock(eta)}"

    def _render(self) -> RenderableType:
        with self._lock:
            lines = list(self._lines.values())
        head = Table.grid(padding=(0, 1))
        head.add_row(
            Text("sweep", style="bold"),
            ProgressBar(total=max(self.total, 1), completed=self.finished, width=_BAR),
            Text(
                f"{self.finished}/{self.total} combinations · {len(lines)} running · "
                f"{_clock(time.monotonic() - self._started)} elapsed{self._eta_part(' ·')}"
            ),
        )
        body = Table.grid(padding=(0, 2))
        for line in lines:
            body.add_row(Text(line.slot, style="cyan"), Text(line.key), self._progress_cell(line))
            status = read_status(line.status)
            if status:
                body.add_row("", "", Text(status, style="dim", no_wrap=True, overflow="ellipsis"))
        return Group(head, body)

    def _progress_cell(self, line: _Line) -> RenderableType:
        age = _clock(time.monotonic() - line.since)
        if line.dataset is None:
            return Text(f"{line.stage} · {age}")
        cell = Table.grid(padding=(0, 1))
        cell.add_row(
            Text(line.dataset),
            ProgressBar(total=max(line.total, 1), completed=line.done, width=_BAR),
            Text(f"{line.done}/{line.total} · {age}"),
        )
        return cell

    def _line(self, key: str) -> _Line | None:
        with self._lock:
            return self._lines.get(key)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._lines.pop(key, None)


class DeploymentView:
    """One deployment's part of the display: its stage, its dataset's requests, its monitor line."""

    def __init__(self, sweep: SweepView, key: str) -> None:
        self.sweep = sweep
        self.key = key

    @property
    def slot(self) -> str:
        line = self.sweep._line(self.key)
        return line.slot if line else ""

    def stage(self, text: str) -> None:
        """Starting, loading weights, ready…: shown on its line; printed on a pipe."""
        line = self.sweep._line(self.key)
        if line is not None:
            line.stage, line.since, line.dataset = text, time.monotonic(), None
        if not self.sweep.live_mode:
            self.note(f"{self.slot} {self.key}: {text}")

    def note(self, message: str) -> None:
        self.sweep.note(message)

    def warn(self, message: str) -> None:
        self.sweep.warn(message)

    def set_live_status(self, status: LiveStatus | None) -> None:
        """Where the monitor line comes from (None: no line); read from the display's thread."""
        line = self.sweep._line(self.key)
        if line is not None:
            line.status = status

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[], None]]:
        """A dataset's `total` requests; yields the function that counts one answered."""
        line = self.sweep._line(self.key)
        if line is None or not self.sweep.enabled:
            yield lambda: None
            return
        dataset = description.rsplit(" ", 1)[-1]
        line.dataset, line.done, line.total, line.since = dataset, 0, total, time.monotonic()
        if not self.sweep.live_mode:
            self.note(f"{line.slot} {description}: {total} requests")

        def advance() -> None:
            line.done += 1
            if not self.sweep.live_mode:
                self._plain_status(line)

        try:
            yield advance
        finally:
            line.dataset = None
            line.stage = "ready"
        live = self.sweep.live_mode
        self.note(f"{description}: {line.done}/{total} done" if live else f"{line.slot} {description}: done")

    def finish(self, text: str) -> None:
        """The deployment ended: one line on how, and its part of the live block goes."""
        self.note(f"{self.slot} {self.key}: {text}")
        self.sweep._forget(self.key)

    def _plain_status(self, line: _Line) -> None:
        """On a pipe or a log file: the monitor line at most once a minute, when a request completes."""
        now = time.monotonic()
        if now - line.status_printed_at < PLAIN_STATUS_EVERY_S:
            return
        status = read_status(line.status)
        if status:
            line.status_printed_at = now
            self.note(f"{line.slot} {status}")


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
