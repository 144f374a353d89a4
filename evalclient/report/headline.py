"""The one headline metric of each dataset, as its task declares it (`TaskSpec.report`, tasks/report_spec.py):
its name in dataset_metrics, the per-sample verdict field it is the mean of (for the paired tests and flip
rates), whether that field is a 0/1 verdict or a continuous score, and its scale (so that scores of different
datasets can be averaged on 0–1). A headline that is a weighted mean of group means (bfcl's `ast_accuracy`)
names the verdict field of its groups and their weights, so that every table computes it the one way the
task's scorer does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from evalclient.errors import UsageError
from evalclient.tasks import get_task
from evalclient.tasks.report_spec import ACC_NORM, ACCURACY, EXACT_MATCH, MC2, PASS_AT_1, ReportSpec
from evalclient.tasks.report_spec import Headline as Headline

_FALLBACK = (PASS_AT_1, ACC_NORM, MC2, ACCURACY, EXACT_MATCH)
"""The candidates for a dataset the registry does not know (`humaneval_n10`, a name with options)."""


def declared(dataset: str) -> ReportSpec | None:
    """The report declaration of the registry's task (or variant) `dataset`; None for a name it lacks."""
    try:
        return get_task(dataset).report
    except UsageError:
        return None


def headline_of(dataset: str, metrics: Mapping[str, Any]) -> Headline | None:
    """The headline this combination reports (None when it reports none, e.g. a failed one)."""
    spec = declared(dataset)
    for candidate in _FALLBACK if spec is None else spec.headlines:
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
