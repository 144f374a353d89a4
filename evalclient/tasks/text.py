"""Small text helpers shared by the scorers: reasoning removal and user-message building."""

from __future__ import annotations

import re
from collections.abc import Mapping

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>.*\Z", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """The answer part of a response: closed `<think>` blocks and an unclosed trailing one removed.

    The client keeps a server's reasoning apart from the answer; this is the fallback for servers that
    leave the tags inside the content, so a number or label inside the reasoning is never scored.
    """
    without_blocks = _THINK_BLOCK.sub("", text)
    return _THINK_OPEN.sub("", without_blocks).strip()


def user_message(content: str) -> tuple[dict[str, str], ...]:
    """A one-turn chat: the user's message only (the model's own system prompt stays in charge)."""
    return ({"role": "user", "content": content},)


def response_text(responses: Mapping[str, str | None], sample_id: str) -> str | None:
    """The stored answer for a sample, or None when there is none (the request failed or never ran)."""
    value = responses.get(sample_id)
    return None if value is None else str(value)
