"""Reading code out of a model's answer: the first fenced block of a chat answer, the stop sequences of a
completion. The answer's text is used exactly as sent: leading indentation is never stripped, since a
completion continues a function body and its indentation is part of the program.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

OPENING_FENCE = re.compile(r"^([ \t]*)(`{3,})[^\n`]*\n", re.MULTILINE)


def first_code_block(answer: str) -> str:
    """The content of the answer's first fenced block (```python … ```), the whole answer when it has none.

    A block the answer never closes (it ran out of tokens) runs to the end. A fence indented inside a list
    has that indentation removed from its lines, as Markdown reads it.
    """
    opening = OPENING_FENCE.search(answer)
    if opening is None:
        return answer
    indent, fence = opening.group(1), opening.group(2)
    closing = re.compile(rf"^[ \t]*{fence}`*[ \t]*$", re.MULTILINE)
    rest = answer[opening.end() :]
    end = closing.search(rest)
    body = rest[: end.start()] if end is not None else rest
    if indent:
        body = "".join(line.removeprefix(indent) for line in body.splitlines(keepends=True))
    return body


def truncate_at_stops(completion: str, stops: Sequence[str]) -> str:
    """The completion up to the earliest stop sequence (servers that ignore `stop` send more)."""
    cut = min((i for i in (completion.find(s) for s in stops) if i >= 0), default=len(completion))
    return completion[:cut]
