"""Thinking text apart from the answer, for servers that leave `<think>` blocks inside the content.

The stored text keeps the markup exactly as sent; these views are what scorers and reports read:
`answer_part` drops closed `<think>…</think>` blocks and an unclosed trailing one (a model that ran out of
tokens while thinking gave no answer); a lone `</think>` (templates that open the block in the prompt) ends
the reasoning. Newlines right after removed markup are dropped; indentation and everything else stay.
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_OPEN = "<think>"
_CLOSE = "</think>"


def answer_part(text: str) -> str:
    """The answer: `text` without its reasoning markup; unchanged when there is none."""
    if _OPEN not in text and _CLOSE not in text:
        return text
    if _OPEN not in text:
        return text.rpartition(_CLOSE)[2].lstrip("\r\n")
    without = _BLOCK.sub("", text)
    head, opened, _ = without.partition(_OPEN)
    return (head if opened else without).lstrip("\r\n")


def reasoning_part(text: str) -> str | None:
    """The reasoning inside `text`'s markup (blocks joined by newlines), or None when there is none."""
    if _OPEN not in text:
        head, closed, _ = text.rpartition(_CLOSE)
        return head.strip() or None if closed else None
    parts = [part.strip() for part in _BLOCK.findall(text)]
    rest = _BLOCK.sub("", text)
    if _OPEN in rest:
        parts.append(rest.partition(_OPEN)[2].strip())
    joined = "\n".join(p for p in parts if p)
    return joined or None
