"""A node's view and reporter calls as messages, replayed on the driver's sweep view."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from evalclient.cluster.forwarding import ForwardingReporter, ForwardingView, Outbox, ViewReplay
from evalclient.errors import first_line
from evalclient.planning.slots import Slot
from evalclient.sweep.run_types import Outcome


class Recorder:
    """A DeploymentView that records what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.status: Callable[[], str | None] | None = None

    def stage(self, text: str) -> None:
        self.calls.append(("stage", text))

    def note(self, message: str) -> None:
        self.calls.append(("note", message))

    def warn(self, message: str) -> None:
        self.calls.append(("warn", message))

    def set_live_status(self, status: Callable[[], str | None] | None) -> None:
        self.status = status

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[], None]]:
        self.calls.append(("task", description, total))
        yield lambda: self.calls.append(("advance",))
        self.calls.append(("task_end",))

    def finish(self, text: str) -> None:
        self.calls.append(("finish", text))


def test_answered_requests_merge_and_the_replay_shows_them_in_order() -> None:
    outbox = Outbox()
    view = ForwardingView(outbox)
    line = ["GPU0 50%"]
    view.stage("starting")
    view.set_live_status(lambda: line[0])
    with view.task("qwen3_8b/balanced gsm8k", 3) as advance:
        advance()
        advance()
        view.status()
        view.status()  # unchanged: not sent again
        advance()
    view.finish("ended: 1 complete")
    messages = outbox.drain()
    assert messages == [
        ("stage", "starting"),
        ("task", "qwen3_8b/balanced gsm8k", 3),
        ("advance", 2),
        ("status", "GPU0 50%"),
        ("advance", 1),
        ("task_end",),
        ("finish", "ended: 1 complete"),
    ]
    shown = Recorder()
    replay = ViewReplay(shown)  # type: ignore[arg-type]
    assert all(replay.apply(m) for m in messages)
    assert shown.calls == [
        ("stage", "starting"),
        ("task", "qwen3_8b/balanced gsm8k", 3),
        ("advance",), ("advance",), ("advance",),
        ("task_end",),
        ("finish", "ended: 1 complete"),
    ]  # fmt: skip
    assert shown.status is not None
    assert shown.status() == "GPU0 50%"


def test_a_node_that_vanishes_mid_dataset_leaves_no_dataset_open_on_the_driver() -> None:
    shown = Recorder()
    replay = ViewReplay(shown)  # type: ignore[arg-type]
    replay.apply(("task", "m/p gsm8k", 10))
    replay.apply(("advance", 4))
    replay.close()
    assert shown.calls[-1] == ("task_end",)
    assert shown.calls.count(("advance",)) == 4


def test_reporter_messages_are_not_view_messages() -> None:
    outbox = Outbox()
    loaded: list[bool] = []
    reporter = ForwardingReporter(outbox, ("10.0.0.7", "n1"), on_weights=lambda: loaded.append(True))
    outcome = Outcome("m", "p", "gsm8k", "complete", None, "metrics/detailed/m_p_gsm8k.json")
    reporter.outcome(outcome)
    reporter.event("m_p", "started_at", Slot((2, 3)))
    reporter.weights_loaded(None, True)
    reporter.refused("cannot reach the Docker engine")
    assert outbox.drain() == [
        ("outcome", outcome),
        ("event", "m_p", "started_at", Slot((2, 3)), "10.0.0.7", "n1"),
        ("refused", "10.0.0.7", "n1", "cannot reach the Docker engine"),
    ]
    assert loaded == [True]
    replay = ViewReplay(Recorder())  # type: ignore[arg-type]
    assert not replay.apply(("outcome", outcome))
    assert not replay.apply(("refused", "10.0.0.7", "n1", "cannot reach the Docker engine"))


def test_a_refusal_carries_the_first_line_of_the_nodes_error() -> None:
    assert first_line(RuntimeError("  cannot reach the Docker engine\n  Traceback: …\n")) == (
        "cannot reach the Docker engine"
    )
    assert first_line(ConnectionError()) == "ConnectionError"
