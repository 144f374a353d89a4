"""Progress on long work: a bar per dataset and one-line notes, on stderr (plain lines when not a TTY)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress:
    """Shows what the run is doing; silent when disabled (tests, --quiet)."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)

    def note(self, message: str) -> None:
        if self.enabled:
            self.console.print(message)

    def warn(self, message: str) -> None:
        """A line the user must see even with progress off (--quiet)."""
        self.console.print(message, soft_wrap=True, highlight=False)

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[], None]]:
        """A bar for `total` steps; yields the function that advances it by one."""
        if not self.enabled:
            yield lambda: None
            return
        if not self.console.is_terminal:
            self.console.print(f"{description}: {total} requests")
            yield lambda: None
            self.console.print(f"{description}: done")
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with RichProgress(*columns, console=self.console, transient=True) as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda: bar.advance(task_id)
        self.console.print(f"{description}: {total}/{total} done")
