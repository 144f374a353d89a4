"""BFCL's scores from the per-sample verdicts.

- `accuracy`: the share of correct samples over all categories, irrelevance included (micro).
- `accuracy_by_category`: the same per category (BFCL v4 names).
- `bfcl_non_live_summary`: BFCL v4's unweighted non-live AST summary: simple = mean(simple_python,
  simple_java, simple_javascript), summary = mean(simple, multiple, parallel, parallel_multiple). v4 leaves
  irrelevance out (v3 averaged it in as a fifth term); it is `irrelevance_accuracy`. A category the samples
  lack drops out of its mean and is listed in `bfcl_summary_missing`. `ast_accuracy` is the same number.
- `function_calling_success_rate`: over the samples whose category expects calls (every one but
  irrelevance, where the right answer makes none), the share whose answer decodes into at least one
  well-formed call `{name: {arguments}}`, right or wrong; a failed request counts as not. None without
  such samples.
- `error_types`: how many samples failed with each BFCL error type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from evalclient.tasks.function_calling.bfcl_data import CATEGORIES, IRRELEVANCE

SIMPLE = ("simple_python", "simple_java", "simple_javascript")
SUMMARY_TERMS = ("multiple", "parallel", "parallel_multiple")


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summary_weights(categories: Collection[str]) -> dict[str, float]:
    """The summary as weights of the categories present: simple's languages share its term, irrelevance
    weighs nothing."""
    simple = [c for c in SIMPLE if c in categories]
    terms = [c for c in SUMMARY_TERMS if c in categories]
    count = len(terms) + (1 if simple else 0)
    weights = {c: 1 / (len(simple) * count) for c in simple}
    weights.update({c: 1 / count for c in terms})
    return weights


def bfcl_metrics(verdicts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics above from verdicts carrying `category`, `correct`, `well_formed` and `error_type`."""
    by_category: dict[str, list[bool]] = {}
    for verdict in verdicts:
        by_category.setdefault(str(verdict["category"]), []).append(bool(verdict["correct"]))
    accuracy = {c: sum(v) / len(v) for c in CATEGORIES if (v := by_category.get(c))}
    simple = _mean([accuracy[c] for c in SIMPLE if c in accuracy])
    terms = [x for x in (simple, *(accuracy.get(c) for c in SUMMARY_TERMS)) if x is not None]
    summary = _mean(terms)
    expecting = [v for v in verdicts if v["category"] != IRRELEVANCE]
    errors = Counter(str(v["error_type"]) for v in verdicts if v.get("error_type"))
    return {
        "accuracy": _mean([float(v["correct"]) for v in verdicts]),
        "accuracy_by_category": accuracy,
        "bfcl_non_live_summary": summary,
        "ast_accuracy": summary,
        "simple_ast_accuracy": simple,
        "irrelevance_accuracy": accuracy.get(IRRELEVANCE),
        "bfcl_summary_missing": [c for c in (*SIMPLE, *SUMMARY_TERMS) if c not in accuracy],
        "function_calling_success_rate": _mean([float(v["well_formed"]) for v in expecting]),
        "error_types": dict(sorted(errors.items())),
    }
