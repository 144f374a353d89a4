"""Find which labelled choice a free-text answer picked ("B", "(B)", "The answer is B", "Answer: B) ...").

Written for any label set (A–E, 1–5, …) so that ARC, MMLU, TruthfulQA and HellaSwag share it. Labels are
matched case-sensitively and never inside a word, so the article "a" or "A plant" is not read as choice A.
Rules, first hit wins:

1. an answer phrase ("answer is", "Answer:", "correct option is", "I choose"…) then a label — the last one;
2. the whole answer is a label, maybe wrapped: "B", "(B)", "B.", "**B**";
3. the answer starts with a label and a delimiter: "B) …", "B. …", "(B) …", "B: …";
4. the answer repeats one choice's text exactly (when the choice texts are given);
5. exactly one distinct label stands alone in the answer ("I would pick (B) here"); a sentence opening
   with "A" and a lower-case word ("A plant …") uses the article, not a label.

No hit is a failed parse (None).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evalclient.client.reasoning import answer_part

_PHRASE = (
    r"(?i:\b(?:(?:final\s+|correct\s+|best\s+|right\s+)?answer(?:\s+(?:is|would\s+be|will\s+be|should\s+be))?"
    r"|(?:correct|best|right)\s+(?:choice|option)(?:\s+is)?"
    r"|i\s+(?:choose|pick|select)))"
    r"\s*(?:[:\-=]\s*)?(?:(?i:option|choice)\s+)?"
)
_OPEN = r"[\(\[\*\s]*"
_WRAP = r"[\(\[\*\s'\"`]*"
_END_WRAP = r"[\)\]\*\s'\"`\.:!]*"
_ARTICLE = re.compile(r"(?:^|[.!?]\s+|\n\s*)(A)\s+[a-z]")


def parse_choice(text: str, labels: Sequence[str], choices: Sequence[str] | None = None) -> str | None:
    """The label `text` picks among `labels` (e.g. "A".."D" or "1".."4"), or None when it picks none."""
    answer = answer_part(text).strip()
    if not answer or not labels:
        return None
    alternation = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    label = rf"(?<![A-Za-z0-9])({alternation})(?![A-Za-z0-9])"
    for finder in (_by_phrase, _by_whole, _by_prefix):
        found = finder(answer, label)
        if found is not None:
            return found
    if choices is not None:
        found = _by_choice_text(answer, labels, choices)
        if found is not None:
            return found
    return _by_single_mention(answer, label)


def _by_phrase(answer: str, label: str) -> str | None:
    matches = re.findall(_PHRASE + _OPEN + label, answer)
    return str(matches[-1]) if matches else None


def _by_whole(answer: str, label: str) -> str | None:
    match = re.fullmatch(_WRAP + label + _END_WRAP, answer)
    return match.group(1) if match else None


def _by_prefix(answer: str, label: str) -> str | None:
    match = re.match(r"[\(\[\*\s]*" + label + r"\s*[\)\]\.:]", answer)
    return match.group(1) if match else None


def _by_choice_text(answer: str, labels: Sequence[str], choices: Sequence[str]) -> str | None:
    wanted = _plain(answer)
    hits = [lab for lab, choice in zip(labels, choices, strict=False) if _plain(choice) == wanted]
    return hits[0] if len(hits) == 1 else None


def _by_single_mention(answer: str, label: str) -> str | None:
    articles = {match.start(1) for match in _ARTICLE.finditer(answer)}
    mentioned = {match.group(1) for match in re.finditer(label, answer) if match.start() not in articles}
    return mentioned.pop() if len(mentioned) == 1 else None


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
