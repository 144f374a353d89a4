"""lm-evaluation-harness's answer filters and exact-match metric, reproduced exactly.

- `regex_filter`: lm-eval's "regex" filter (lm_eval/filters/extraction.py): all matches, the one at
  `group_select`, for a pattern with groups the first non-empty group, stripped; "[invalid]" when nothing
  matches.
- `exact_match`: lm-eval's exact_match (lm_eval/api/metrics.py, `exact_match_hf_evaluate`): each of
  `regexes_to_ignore` removed in turn from prediction and reference with `re.sub`, then lower-cased when
  `ignore_case`; equal strings match. "18.00" is not "18".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

FALLBACK = "[invalid]"


def regex_filter(text: str, pattern: re.Pattern[str], group_select: int = 0) -> str:
    """The filtered answer, or "[invalid]"."""
    matches = pattern.findall(text)
    if not matches:
        return FALLBACK
    match = matches[group_select]
    if isinstance(match, tuple):
        groups = [m for m in match if m]
        if not groups:
            return FALLBACK
        match = groups[0]
    return str(match).strip()


def exact_match(
    prediction: str, reference: str, regexes_to_ignore: Sequence[str] = (), *, ignore_case: bool = False
) -> bool:
    """Whether prediction equals reference after lm-eval's normalisation."""
    for pattern in regexes_to_ignore:
        prediction = re.sub(pattern, "", prediction)
        reference = re.sub(pattern, "", reference)
    if ignore_case:
        prediction, reference = prediction.lower(), reference.lower()
    return prediction == reference


def normalised(text: str, regexes_to_ignore: Sequence[str] = (), *, ignore_case: bool = False) -> str:
    """The text as exact_match compares it (for the verdicts a user reads)."""
    for pattern in regexes_to_ignore:
        text = re.sub(pattern, "", text)
    return text.lower() if ignore_case else text
