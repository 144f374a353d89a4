"""Small helpers shared by the tasks: message building and the answer text of an output."""

from __future__ import annotations

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, Message, Sampling
from evalclient.tasks.base import ModelHandle, SampleOutput


def user_message(content: str) -> tuple[Message, ...]:
    """A one-turn chat: the user's message only (the model's own system prompt stays in charge)."""
    return ({"role": "user", "content": content},)


async def ask(model: ModelHandle, sample_id: str, prompt: str, sampling: Sampling) -> list[Completion]:
    """One user turn, one chat completion: the solver of single-question tasks."""
    return [await model.chat(ChatRequest(sample_id, user_message(prompt), sampling))]


def answer_text(output: SampleOutput | None) -> str | None:
    """The answer to score (reasoning removed), or None when the sample has no successful answer."""
    if output is None or not output.ok:
        return None
    final = output.final
    return None if final is None else final.answer
