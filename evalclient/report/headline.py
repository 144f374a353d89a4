"""The one headline metric of each dataset: its name in dataset_metrics, the per-sample verdict field it is
the mean of (for the paired tests and flip rates), whether that field is a 0/1 verdict or a continuous score,
and its scale (so that scores of different datasets can be averaged on 0–1). A headline that is a weighted
mean of group means (bfcl's `ast_accuracy`: BFCL v4's mean of category accuracies, irrelevance left out)
names the verdict field of its groups and their weights, so that every table computes it the one way the
task's scorer does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Headline:
    """A dataset's headline metric and how it is computed from the per-sample verdicts."""

    metric: str
    verdict_key: str
    binary: bool
    scale: float = 1.0
    """What the metric's best score is (100 for BLEU), to put it on 0–1."""
    group_key: str | None = None
    """The verdict field whose groups the metric weighs (None: the plain mean over the samples)."""
    group_weights: Callable[[Collection[str]], dict[str, float]] | None = None
    """The weight of each group present (a group left out weighs nothing)."""


def _bfcl_summary_weights(categories: Collection[str]) -> dict[str, float]:
    """BFCL v4's non-live summary as weights: mean(simple, multiple, parallel, parallel_multiple), simple
    itself the mean of its languages; a category absent drops out of its mean, irrelevance weighs nothing."""
    from evalclient.tasks.function_calling.bfcl_metrics import SIMPLE, SUMMARY_TERMS

    simple = [c for c in SIMPLE if c in categories]
    terms = [c for c in SUMMARY_TERMS if c in categories]
    count = len(terms) + (1 if simple else 0)
    weights = {c: 1 / (len(simple) * count) for c in simple}
    weights.update({c: 1 / count for c in terms})
    return weights


_ACCURACY = Headline("accuracy", "correct", binary=True)
_ACC_NORM = Headline("acc_norm", "correct_norm", binary=True)
_ACC = Headline("acc", "correct", binary=True)
_MC2 = Headline("mc2", "mc2", binary=False)
_BLEU = Headline("bleu_score", "bleu", binary=False, scale=100.0)
_PASS_AT_1 = Headline("pass@1", "correct", binary=True)
_MT_BENCH = Headline("mt_bench_score", "mean_rating", binary=False, scale=10.0)
_WIN_RATE = Headline("win_rate", "win", binary=False, scale=100.0)
_AST = Headline(
    "ast_accuracy", "correct", binary=True, group_key="category", group_weights=_bfcl_summary_weights
)

# Per dataset, in order of preference: the first one the combination reports is its headline (generative
# multiple choice reports `accuracy` only; log-likelihood reports acc_norm / acc / mc2 beside it).
HEADLINES: dict[str, tuple[Headline, ...]] = {
    "gsm8k": (_ACCURACY,),
    "arc_challenge": (_ACC_NORM, _ACCURACY),
    "hellaswag": (_ACC_NORM, _ACCURACY),
    "mmlu": (_ACC, _ACCURACY),
    "truthfulqa": (_MC2, _ACCURACY),
    "codet5": (_BLEU,),
    "humaneval": (_PASS_AT_1,),
    "mbpp": (_PASS_AT_1,),
    "mt_bench": (_MT_BENCH,),
    "alpaca_eval": (_WIN_RATE,),
    "alpaca_eval_v1": (_WIN_RATE,),
    "bfcl": (_AST, _ACCURACY),
}
_FALLBACK = (_PASS_AT_1, _ACC_NORM, _MC2, _ACCURACY, Headline("exact_match", "correct", binary=True))


def headline_of(dataset: str, metrics: Mapping[str, Any]) -> Headline | None:
    """The headline this combination reports (None when it reports none, e.g. a failed one)."""
    for candidate in HEADLINES.get(dataset, _FALLBACK):
        if isinstance(metrics.get(candidate.metric), int | float):
            return candidate
    return None


def sample_score(headline: Headline, verdict: Mapping[str, Any]) -> float | None:
    """One sample's contribution to the headline (None when its verdict lacks the field)."""
    value = verdict.get(headline.verdict_key)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def group_of(headline: Headline, verdict: Mapping[str, Any]) -> str:
    """The group a sample counts in ("" for a plain mean)."""
    return "" if headline.group_key is None else str(verdict.get(headline.group_key))


def group_weights(headline: Headline, groups: Collection[str]) -> dict[str, float]:
    """The weight of each of `groups` in the headline (a plain mean: its one group weighs 1)."""
    if headline.group_weights is None:
        return dict.fromkeys(groups, 1.0)
    return headline.group_weights(groups)


def headline_value(headline: Headline, verdicts: Sequence[Mapping[str, Any]]) -> float | None:
    """The headline over these verdicts, as the task's scorer computes it (None without a scored sample)."""
    groups: dict[str, list[float]] = {}
    for verdict in verdicts:
        score = sample_score(headline, verdict)
        if score is not None:
            groups.setdefault(group_of(headline, verdict), []).append(score)
    weights = group_weights(headline, groups)
    if not weights:
        return None
    return sum(weight * sum(groups[g]) / len(groups[g]) for g, weight in weights.items())
