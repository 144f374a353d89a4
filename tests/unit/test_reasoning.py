"""Thinking text is kept apart from the scored answer; the stored text keeps the markup."""

from __future__ import annotations

from evalclient.client.completion import Completion
from evalclient.client.reasoning import answer_part, reasoning_part
from evalclient.client.requests import RequestKind


def test_no_thinking_leaves_the_text_exactly() -> None:
    assert answer_part("  The answer is 4. \n\n") == "  The answer is 4. \n\n"
    assert reasoning_part("  The answer is 4. ") is None


def test_think_block_is_separated() -> None:
    text = "<think>\n2+2=4\n</think>\n\n#### 4\n"
    assert answer_part(text) == "#### 4\n"
    assert reasoning_part(text) == "2+2=4"


def test_unclosed_think_leaves_no_answer() -> None:
    assert answer_part("<think>still going") == ""
    assert reasoning_part("<think>still going") == "still going"


def test_lone_closing_tag_splits() -> None:
    assert answer_part("hmm\n</think>\nB") == "B"
    assert reasoning_part("hmm\n</think>\nB") == "hmm"


def test_indentation_after_markup_is_kept() -> None:
    assert answer_part("<think>x</think>\n    return 1\n") == "    return 1\n"


def test_completion_answer_uses_separate_reasoning_when_the_server_sent_it() -> None:
    record = Completion("1", RequestKind.CHAT, text="\n\nParis\n\n", reasoning="It is Paris.")
    assert record.answer == "\n\nParis\n\n"
    inline = Completion("2", RequestKind.CHAT, text="<think>It is Paris.</think>\n\nParis")
    assert inline.answer == "Paris"
