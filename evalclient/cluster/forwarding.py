"""What a deployment on a cluster node tells the driver, as messages, and the driver's replay of them.

On the node, `ForwardingView` stands in for the sweep view's DeploymentView and `ForwardingReporter` for the
runner's Reporter: each call becomes a message in an `Outbox` (consecutive answered-request counts merge into
one). The node sends the outbox with the file changes of the same moment; the driver applies the files
first, then replays the messages: `ViewReplay` on the real DeploymentView, the rest on the runner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from evalclient.planning.slots import Slot
from evalclient.sweep.view import DeploymentView, LiveStatus, read_status

Message = tuple[Any, ...]


@dataclass
class Outbox:
    """Messages waiting to go to the driver, in order; safe to fill from threads."""

    _messages: list[Message] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    on_put: Callable[[], None] | None = None

    def put(self, *message: Any) -> None:
        with self._lock:
            last = self._messages[-1] if self._messages else None
            if message[0] == "advance" and last is not None and last[0] == "advance":
                self._messages[-1] = ("advance", last[1] + message[1])
            else:
                self._messages.append(message)
        if self.on_put is not None:
            self.on_put()

    def drain(self) -> list[Message]:
        with self._lock:
            messages, self._messages = self._messages, []
        return messages


class ForwardingView:
    """A DeploymentView whose calls go to the driver; the monitor line is read at each send (`status`)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._status: LiveStatus | None = None
        self._sent_status: str | None = None

    def stage(self, text: str) -> None:
        self.outbox.put("stage", text)

    def note(self, message: str) -> None:
        self.outbox.put("note", message)

    def warn(self, message: str) -> None:
        self.outbox.put("warn", message)

    def set_live_status(self, status: LiveStatus | None) -> None:
        self._status = status
        if status is None:
            self._sent_status = None
            self.outbox.put("status", None)

    def status(self) -> None:
        """Queue the monitor line when it changed since it was last sent."""
        text = read_status(self._status)
        if self._status is not None and text != self._sent_status:
            self._sent_status = text
            self.outbox.put("status", text)

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[], None]]:
        self.outbox.put("task", description, total)
        try:
            yield lambda: self.outbox.put("advance", 1)
        finally:
            self.outbox.put("task_end")

    def finish(self, text: str) -> None:
        self.outbox.put("finish", text)


class ForwardingReporter:
    """The runner's Reporter on a node: outcomes, events and the weights' arrival become messages."""

    def __init__(
        self, outbox: Outbox, node: tuple[str, str], on_weights: Callable[[], None] | None = None
    ) -> None:
        self.outbox = outbox
        self.node = node
        self._on_weights = on_weights

    def outcome(self, outcome: Any) -> None:
        self.outbox.put("outcome", outcome)

    def event(self, key: str, event: str, slot: Slot | None = None) -> None:
        self.outbox.put("event", key, event, slot, *self.node)

    def refused(self, reason: str) -> None:
        """This node cannot run deployments at all (its Docker engine cannot be used): why, and where."""
        self.outbox.put("refused", *self.node, reason)

    def weights_loaded(self, deployment: Any, loaded: bool) -> None:
        if self._on_weights is not None:
            self._on_weights()

    def note_disk_full(self, cause: OSError) -> None:
        """The node's results disk is full: its deployment stops with the error, which reaches the driver
        as the remaining combinations' failure."""


class ViewReplay:
    """Replays a node's view messages on the driver's DeploymentView."""

    def __init__(self, view: DeploymentView) -> None:
        self.view = view
        self.status: str | None = None
        self.finished = False
        self._task: AbstractContextManager[Callable[[], None]] | None = None
        self._advance: Callable[[], None] = lambda: None
        view.set_live_status(lambda: self.status)

    def apply(self, message: Message) -> bool:
        """Apply a view message; False when `message` is not one (it is the runner's)."""
        kind, args = message[0], message[1:]
        if kind in ("stage", "note", "warn"):
            getattr(self.view, kind)(*args)
        elif kind == "finish":
            self.end(args[0])
        elif kind == "status":
            self.status = args[0]
        elif kind == "task":
            self.close()
            self._task = self.view.task(args[0], args[1])
            self._advance = self._task.__enter__()
        elif kind == "advance":
            for _ in range(args[0]):
                self._advance()
        elif kind == "task_end":
            self.close()
        else:
            return False
        return True

    def end(self, text: str) -> None:
        """The deployment ended: close its dataset, and its line with `text` unless it was ended already."""
        self.close()
        if not self.finished:
            self.finished = True
            self.view.finish(text)

    def close(self) -> None:
        """End the dataset shown, if one is (the node ended it, or the node is gone)."""
        task, self._task = self._task, None
        self._advance = lambda: None
        if task is not None:
            task.__exit__(None, None, None)
