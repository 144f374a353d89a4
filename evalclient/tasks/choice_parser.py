"""Find which labelled choice a free-text answer picked, to the standard of a careful reader.

Written for any label set (A–E, 1–5, …) so that ARC, MMLU, TruthfulQA and HellaSwag share it. Rules, first
hit wins:

1. an answer cue, then a label: "answer is", "Answer:", "correct option is", "I choose", "I'd go with", and
   conclusions ("so it must be", "it has to be", "therefore", "thus"). The last cue decides, so a conclusion
   after discarded options ("A is wrong, C too, so it must be B") is read. After a cue a label matches in
   either case ("Answer: b"), as OpenAI's simple-evals matches `(?i)Answer[ \\t]*:[ \\t]*\\$?([A-D])\\$?`
   (common.py) — except a lower-case letter that a lower-case word follows, which is the article ("the answer
   is a plant"). A cue whose label is one of several ("the answer is A or B") decides nothing: no choice;
2. the whole answer is a label, maybe wrapped, in either case: "B", "(b)", "B.", "**B**", "$\\boxed{B}$";
3. the answer starts with a label and a delimiter: "B) …", "B. …", "(B) …", "B: …", "(b) …";
4. the exact text of exactly one choice (compared without case and punctuation): the whole answer
   ("Photosynthesis."), or what follows the last cue ("The answer is photosynthesis");
5. exactly one distinct label stands alone in the answer ("I would pick (B) here"), upper case only; a
   sentence opening with "A" and a lower-case word ("A plant …") uses the article, not a label.

What stays unread (None): two choices named without a decision ("Either A or B.", "A or B"), a label that is
not one of the choices, an answer naming no choice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evalclient.client.reasoning import answer_part

_CUE = (
    r"(?i:\b(?:"
    r"(?:(?:final|correct|best|right)\s+)?answer(?:\s+(?:is|would\s+be|will\s+be|should\s+be|must\s+be))?"
    r"|(?:correct|best|right)\s+(?:choice|option)(?:\s+(?:is|would\s+be|must\s+be))?"
    r"|i\s+(?:choose|pick|select)|i(?:'d|\s+would)\s+(?:go\s+with|choose|pick)"
    r"|(?:it|this|that)\s+(?:must|has\s+to|should|would)\s+be"
    r"|(?P<so>so|thus|therefore|hence)(?:\s+it\s+is|\s+it's)?"
    r"))"
    r"\s*(?:[:\-=,]\s*)?(?:(?i:option|choice)\s+)?"
)
_OPEN = r"[\(\[\*\s]*"
_WRAP = r"[\(\[\*\s'\"`]*"
_END_WRAP = r"[\)\]\*\s'\"`\.:!]*"
_ARTICLE = re.compile(r"(?:^|[.!?]\s+|\n\s*)(A)\s+(?!(?:or|and|nor)\b)[a-z]")
_LATEX = re.compile(r"\\(?:boxed|text|textbf|mathrm|mathbf)\{([^{}]*)\}")
_NOT_DECIDED = r"[\)\]\*]*\s*(?:,|/|\bor\b|\band\b)\s*(?:(?i:option|choice)\s+)?[\(\[\*]*"
_VERB_AFTER = re.compile(r"[\)\]\*]*\s+(?:is|are|was|were|seems|could|might|may|can)\b", re.IGNORECASE)


def parse_choice(text: str, labels: Sequence[str], choices: Sequence[str] | None = None) -> str | None:
    """The label `text` picks among `labels` (e.g. "A".."D" or "1".."4"), or None when it picks none."""
    answer = _LATEX.sub(r"\1", answer_part(text)).replace("$", "").strip()
    if not answer or not labels:
        return None
    canonical = {label.casefold(): label for label in labels}
    alternation = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    exact = rf"(?<![A-Za-z0-9])(?P<label>{alternation})(?![A-Za-z0-9])"
    folded = rf"(?<![A-Za-z0-9])(?P<label>(?i:{alternation}))(?![A-Za-z0-9])"
    decided = _by_cue(answer, folded, canonical)
    if decided is not None:
        return decided or None
    for found in (_by_whole(answer, folded), _by_prefix(answer, exact), _by_folded_prefix(answer, folded)):
        if found is not None:
            return canonical.get(found.casefold())
    if choices is not None:
        found = _by_choice_text(answer, labels, choices)
        if found is not None:
            return found
    return _by_single_mention(answer, exact)


def _by_cue(answer: str, label: str, canonical: dict[str, str]) -> str | None:
    """The label the last cue names; "" when that cue names several (no decision), None without a cue."""
    readings = []
    for match in re.finditer(_CUE + _OPEN + label, answer):
        found, rest = match.group("label"), answer[match.end() :]
        if found.islower() and re.match(r"\s+[a-z]", rest):
            continue  # "the answer is a plant": the article
        if re.match(_NOT_DECIDED + label, rest) or (match.group("so") and _VERB_AFTER.match(rest)):
            readings.append("")  # "A or B", "so A is wrong": no decision for A
            continue
        readings.append(canonical.get(found.casefold(), ""))
    return readings[-1] if readings else None


def _by_whole(answer: str, label: str) -> str | None:
    match = re.fullmatch(_WRAP + label + _END_WRAP, answer)
    return match.group("label") if match else None


def _by_prefix(answer: str, label: str) -> str | None:
    match = re.match(r"[\(\[\*\s]*" + label + r"\s*[\)\]\.:]", answer)
    return match.group("label") if match else None


def _by_folded_prefix(answer: str, label: str) -> str | None:
    """A lower-case label opening the answer only in brackets: "(b) …", "b) …"."""
    match = re.match(r"\(?" + label + r"\)", answer)
    return match.group("label") if match else None


def _by_choice_text(answer: str, labels: Sequence[str], choices: Sequence[str]) -> str | None:
    candidates = [answer]
    cues = list(re.finditer(_CUE, answer))
    if cues:
        candidates.append(re.split(r"(?<=[.!?])\s|\n", answer[cues[-1].end() :].strip(), maxsplit=1)[0])
    for candidate in candidates:
        wanted = _plain(candidate)
        hits = [
            lab for lab, choice in zip(labels, choices, strict=False) if wanted and _plain(choice) == wanted
        ]
        if len(hits) == 1:
            return hits[0]
    return None


def _by_single_mention(answer: str, label: str) -> str | None:
    articles = {match.start(1) for match in _ARTICLE.finditer(answer)}
    mentioned = {m.group("label") for m in re.finditer(label, answer) if m.start() not in articles}
    return mentioned.pop() if len(mentioned) == 1 else None


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
