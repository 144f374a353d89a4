"""The sweep view: a live block on a terminal (the sweep's count, one line per active deployment with its
monitor line), one line per event on a pipe (the monitor line at most once a minute), warnings only with
--quiet."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from evalclient.sweep import view as view_module
from evalclient.sweep.view import SweepView

LINE = "GPU0 87% 61.2/80.0 GB 412 W · batch 12 · 1,234 tok/s"


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=150, color_system=None), out


def plain_lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_the_live_block_shows_the_sweep_and_each_deployment_with_its_monitor_line() -> None:
    term, out = console(terminal=True)
    view = SweepView(console=term)
    view.expect({"a/balanced/gsm8k": 4, "b/balanced/gsm8k": 4, "c/balanced/gsm8k": 4})
    with view.showing():
        first = view.deployment("a_balanced", "GPU 0")
        second = view.deployment("b_balanced", "GPU 1,2")
        second.stage("loading weights")
        first.set_live_status(lambda: LINE)
        with first.task("a_balanced gsm8k", total=4) as advance:
            advance()
            view.combination_finished("c/balanced/gsm8k", "complete")
            term.file = drawn = io.StringIO()  # capture one frame of the live block
            assert view._live is not None
            view._live.refresh()
            term.file = out
        first.finish("ended: 1 complete")
    frame = drawn.getvalue()
    assert "1/3 combinations · 2 running" in frame
    assert "GPU 0" in frame
    assert "a_balanced" in frame
    assert "gsm8k" in frame
    assert "1/4" in frame
    assert LINE in frame
    assert "GPU 1,2" in frame
    assert "b_balanced" in frame
    assert "loading weights" in frame
    assert "a_balanced gsm8k: 1/4 done" in out.getvalue()
    assert "GPU 0 a_balanced: ended: 1 complete" in out.getvalue()


def test_a_pipe_gets_one_line_per_event_and_the_sweep_count(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(view_module.time, "monotonic", lambda: now[0])
    pipe, out = console(terminal=False)
    view = SweepView(console=pipe)
    view.expect({"a/balanced/gsm8k": 100, "a/balanced/mmlu": 100})
    with view.showing():
        deployment = view.deployment("a_balanced", "vGPU 0")
        deployment.stage("starting image:1")
        deployment.stage("ready in 2.0 s")
        with deployment.task("a_balanced gsm8k", total=2) as advance:
            advance()
            advance()
        now[0] += 30.0
        view.combination_finished("a/balanced/gsm8k", "complete")
        deployment.finish("ended: 1 complete")
    assert plain_lines(out) == [
        "vGPU 0 a_balanced: starting image:1",
        "vGPU 0 a_balanced: ready in 2.0 s",
        "vGPU 0 a_balanced gsm8k: 2 requests",
        "vGPU 0 a_balanced gsm8k: done",
        "sweep: 1/2 combinations, ETA ~0:30",
        "vGPU 0 a_balanced: ended: 1 complete",
    ]


def test_quiet_prints_only_warnings() -> None:
    term, out = console(terminal=True)
    quiet = SweepView(enabled=False, console=term)
    quiet.expect({"a/balanced/gsm8k": 3})
    with quiet.showing():
        deployment = quiet.deployment("a_balanced", "GPU 0")
        deployment.set_live_status(lambda: LINE)
        deployment.stage("loading weights")
        with deployment.task("x", total=3) as advance:
            for _ in range(3):
                advance()
        quiet.note("a note")
        quiet.combination_finished("a/balanced/gsm8k", "complete")
        deployment.warn("a warning")
    assert out.getvalue() == "a warning\n"


def test_not_a_terminal_prints_the_monitor_line_at_most_once_a_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(view_module.time, "monotonic", lambda: now[0])
    pipe, out = console(terminal=False)
    view = SweepView(console=pipe)
    deployment = view.deployment("a_balanced", "GPU 3")
    deployment.set_live_status(lambda: LINE)
    with deployment.task("gsm8k", total=5) as advance:
        for step in (0.0, 1.0, 59.0, 61.0, 62.0):  # seconds since the first completed request
            now[0] = 1000.0 + step
            advance()
    assert plain_lines(out) == [
        "GPU 3 gsm8k: 5 requests",
        f"GPU 3 {LINE}",
        f"GPU 3 {LINE}",
        "GPU 3 gsm8k: done",
    ]


def test_a_failing_status_source_is_left_out() -> None:
    def broken() -> str | None:
        raise RuntimeError("sampler gone")

    pipe, out = console(terminal=False)
    view = SweepView(console=pipe)
    deployment = view.deployment("a_balanced", "GPU 0")
    deployment.set_live_status(broken)
    with deployment.task("gsm8k", total=1) as advance:
        advance()
    assert plain_lines(out) == ["GPU 0 gsm8k: 1 requests", "GPU 0 gsm8k: done"]
    term, _ = console(terminal=True)
    drawn = SweepView(console=term)
    drawn.deployment("b_balanced", "GPU 1").set_live_status(broken)
    frame = io.StringIO()
    Console(file=frame, width=150, color_system=None).print(drawn._render())
    assert "b_balanced" in frame.getvalue()
    assert "sampler gone" not in frame.getvalue()


def test_the_eta_scales_the_elapsed_time_by_the_samples_left(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(view_module.time, "monotonic", lambda: now[0])
    view = SweepView(enabled=False)
    view.expect({"a/p/x": 100, "a/p/y": 300, "a/p/z": None})  # a whole split counts as 150
    with view.showing():
        assert view.eta_s() is None
        now[0] = 120.0
        view.combination_finished("a/p/x", "complete")
        assert view.eta_s() == pytest.approx(120.0 * 450 / 100)
        view.combination_finished("a/p/y", "failed")  # a failed combination is behind us too
        assert view.eta_s() == pytest.approx(120.0 * 150 / 400)
