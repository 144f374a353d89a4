"""The progress display's live status line: above the bar on a terminal, once a minute at most on a pipe,
never with --quiet."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from evalclient import progress as progress_module
from evalclient.progress import Progress

LINE = "GPU0 87% 61.2/80.0 GB 412 W · batch 12 · 1,234 tok/s"


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=120, color_system=None), out


def test_terminal_shows_the_status_line_above_the_bar() -> None:
    term, out = console(terminal=True)
    shown = Progress(console=term)
    shown.set_live_status(lambda: LINE)
    with shown.task("qwen3_8b_balanced gsm8k", total=2) as advance:
        advance()
        advance()
    assert LINE in out.getvalue()
    assert "qwen3_8b_balanced gsm8k: 2/2 done" in out.getvalue()


def test_quiet_prints_nothing_even_with_a_status() -> None:
    term, out = console(terminal=True)
    quiet = Progress(enabled=False, console=term)
    quiet.set_live_status(lambda: LINE)
    with quiet.task("x", total=3) as advance:
        for _ in range(3):
            advance()
    quiet.note("a note")
    assert out.getvalue() == ""


def test_not_a_terminal_prints_the_status_at_most_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    pipe, out = console(terminal=False)
    plain = Progress(console=pipe)
    plain.set_live_status(lambda: LINE)
    with plain.task("gsm8k", total=5) as advance:
        for step in (0.0, 1.0, 59.0, 61.0, 62.0):  # seconds since the first completed request
            now[0] = 1000.0 + step
            advance()
    assert out.getvalue().splitlines() == ["gsm8k: 5 requests", LINE, LINE, "gsm8k: done"]


def test_a_failing_status_source_is_left_out() -> None:
    def broken() -> str | None:
        raise RuntimeError("sampler gone")

    pipe, out = console(terminal=False)
    shown = Progress(console=pipe)
    shown.set_live_status(broken)
    with shown.task("gsm8k", total=1) as advance:
        advance()
    term, term_out = console(terminal=True)
    drawn = Progress(console=term)
    drawn.set_live_status(broken)
    with drawn.task("mmlu", total=1) as advance:
        advance()
    assert out.getvalue().splitlines() == ["gsm8k: 1 requests", "gsm8k: done"]
    assert "mmlu: 1/1 done" in term_out.getvalue()
