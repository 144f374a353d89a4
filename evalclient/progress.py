"""Progress on long work: a bar per dataset and one-line notes, on stderr (plain lines when not a TTY).

A live status line (the monitor's GPUs and server batch, from `set_live_status`) is drawn above the bar on
a terminal and refreshed with it; when stderr is not a terminal it is printed at most once a minute, and
with progress disabled (--quiet) never.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

log = logging.getLogger(__name__)

LiveStatus = Callable[[], str | None]
PLAIN_STATUS_EVERY_S = 60.0


def _read(status: LiveStatus | None) -> str | None:
    """The status line, or None; a failing source never takes the display down."""
    if status is None:
        return None
    try:
        return status()
    except Exception:
        log.debug("live status line failed", exc_info=True)
        return None


class _BarsWithStatus(RichProgress):
    """Rich's progress bars with the live status line above them, re-read at every refresh."""

    def __init__(
        self, *columns: ProgressColumn, status: Callable[[], LiveStatus | None], console: Console
    ) -> None:
        self._live_status = status  # before Rich's constructor, which renders once
        super().__init__(*columns, console=console, transient=True)

    def get_renderables(self) -> Iterable[RenderableType]:
        line = _read(self._live_status())
        if line:
            yield Text(line, style="dim", no_wrap=True, overflow="ellipsis")
        yield self.make_tasks_table(self.tasks)


class Progress:
    """Shows what the run is doing; silent when disabled (tests, --quiet)."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self._status: LiveStatus | None = None
        self._status_printed_at = float("-inf")

    def note(self, message: str) -> None:
        if self.enabled:
            self.console.print(message)

    def warn(self, message: str) -> None:
        """A line the user must see even with progress off (--quiet)."""
        self.console.print(message, soft_wrap=True, highlight=False)

    def set_live_status(self, status: LiveStatus | None) -> None:
        """Where the live status line comes from (None: no line); called from the display's thread."""
        self._status = status

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[], None]]:
        """A bar for `total` steps; yields the function that advances it by one."""
        if not self.enabled:
            yield lambda: None
            return
        if not self.console.is_terminal:
            self.console.print(f"{description}: {total} requests")
            yield self._plain_status
            self.console.print(f"{description}: done")
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with _BarsWithStatus(*columns, status=lambda: self._status, console=self.console) as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda: bar.advance(task_id)
        self.console.print(f"{description}: {total}/{total} done")

    def _plain_status(self) -> None:
        """On a pipe or a log file: the status line at most once a minute, when a request completes."""
        now = time.monotonic()
        if now - self._status_printed_at < PLAIN_STATUS_EVERY_S:
            return
        line = _read(self._status)
        if line:
            self._status_printed_at = now
            self.console.print(line, highlight=False, soft_wrap=True)
