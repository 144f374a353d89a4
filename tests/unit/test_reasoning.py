"""Thinking text is kept apart from the scored answer."""

from __future__ import annotations

from evalclient.client.reasoning import split_reasoning


def test_no_thinking() -> None:
    assert split_reasoning("  The answer is 4. ") == (None, "The answer is 4.")


def test_think_block_is_separated() -> None:
    assert split_reasoning("<think>\n2+2=4\n</think>\n\n#### 4") == ("2+2=4", "#### 4")


def test_unclosed_think_leaves_no_answer() -> None:
    assert split_reasoning("<think>still going") == ("still going", "")


def test_lone_closing_tag_splits() -> None:
    assert split_reasoning("hmm\n</think>\nB") == ("hmm", "B")
