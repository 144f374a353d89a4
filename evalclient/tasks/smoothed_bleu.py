"""CodeXGLUE's smoothed sentence BLEU-4 for code summarisation (Code-Text/code-to-text/evaluator).

Both texts are lower-cased, stripped and split into words and single punctuation marks; then the NIST
mteval-v11a tokenisation (lines joined, punctuation apart, periods and commas apart unless between digits,
a dash apart after a digit), n-grams up to 4 clipped by the reference, add-one smoothing on the 2- to 4-gram
precisions, the geometric mean, and the brevity penalty min(0, 1 - (ref + 1) / (hyp + 1)) in log space.
A corpus score is the mean of the sentence scores times 100.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from xml.sax.saxutils import unescape

_WORDS = re.compile(r"[\w]+|[^\s\w]")
_JOIN = ((re.compile(r"<skipped>"), ""), (re.compile(r"-\n"), ""), (re.compile(r"\n"), " "))
_SPLIT = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
)
_TINY = sys.float_info.min
ORDER = 4


def split_puncts(text: str) -> str:
    """Words and single punctuation marks, space-separated, of the lower-cased, stripped text."""
    return " ".join(_WORDS.findall(text.strip().lower()))


def nist_tokens(text: str) -> list[str]:
    """mteval-v11a's tokenisation (lower-cased)."""
    for pattern, replacement in _JOIN:
        text = pattern.sub(replacement, text)
    text = " " + unescape(text, {"&quot;": '"'}) + " "
    text = text.lower()
    for pattern, replacement in _SPLIT:
        text = pattern.sub(replacement, text)
    return text.split()


def _ngrams(words: Sequence[str]) -> Counter[tuple[str, ...]]:
    counts: Counter[tuple[str, ...]] = Counter()
    for size in range(1, ORDER + 1):
        for start in range(len(words) - size + 1):
            counts[tuple(words[start : start + size])] += 1
    return counts


def sentence_bleu(reference: str, hypothesis: str) -> float:
    """Smoothed BLEU-4 of one hypothesis against one reference, in [0, 1]."""
    ref = nist_tokens(split_puncts(reference))
    hyp = nist_tokens(split_puncts(hypothesis))
    ref_counts, hyp_counts = _ngrams(ref), _ngrams(hyp)
    correct = [0] * ORDER
    for ngram, count in hyp_counts.items():
        correct[len(ngram) - 1] += min(ref_counts.get(ngram, 0), count)
    log_bleu = 0.0
    for k in range(ORDER):
        guess = max(len(hyp) - k, 0)
        smooth = 1 if k > 0 else 0
        log_bleu += math.log(correct[k] + smooth + _TINY) - math.log(guess + smooth + _TINY)
    log_bleu /= ORDER
    log_bleu += min(0.0, 1 - (len(ref) + 1) / (len(hyp) + 1))
    return math.exp(log_bleu)


def corpus_bleu(pairs: Sequence[tuple[str, str]]) -> float | None:
    """CodeXGLUE's score: the mean sentence BLEU of (reference, hypothesis) pairs, times 100."""
    if not pairs:
        return None
    return sum(sentence_bleu(ref, hyp) for ref, hyp in pairs) * 100.0 / len(pairs)
