"""Keep a reasoning model's thinking apart from the answer that gets scored."""

from __future__ import annotations

import re

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Return (reasoning, answer): `<think>…</think>` blocks are reasoning, the rest is the answer.

    An unclosed `<think>` (the generation ran out of tokens while thinking) leaves an empty answer.
    A lone `</think>` (templates that open the block in the prompt) splits the text at it.
    """
    if "<think>" not in text and "</think>" in text:
        head, _, tail = text.partition("</think>")
        return head.strip() or None, tail.strip()
    parts = _THINK.findall(text)
    if not parts:
        return None, text.strip()
    answer = _THINK.sub("", text).strip()
    reasoning = "\n".join(p.strip() for p in parts).strip()
    return reasoning or None, answer
