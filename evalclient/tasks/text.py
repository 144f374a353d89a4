"""Small helpers shared by the tasks: message building and the answer text of an output."""

from __future__ import annotations

from evalclient.client.requests import Message
from evalclient.tasks.base import SampleOutput


def user_message(content: str) -> tuple[Message, ...]:
    """A one-turn chat: the user's message only (the model's own system prompt stays in charge)."""
    return ({"role": "user", "content": content},)


def answer_text(output: SampleOutput | None) -> str | None:
    """The answer to score (reasoning removed), or None when the sample has no successful answer."""
    if output is None or not output.ok:
        return None
    final = output.final
    return None if final is None else final.answer
