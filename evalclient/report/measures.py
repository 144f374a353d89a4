"""The measures that compare deployments: the headline score on 0–1 and the performance fields, each
combined over a set of datasets (mean, or max for peak memory), or n/a with the reason it is missing; and
whether two performance values differ beyond their noise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalclient.report.context import ReportContext
from evalclient.report.document import number, plural
from evalclient.report.headline import headline_of
from evalclient.report.tree import Combination


@dataclass(frozen=True)
class Measure:
    label: str
    field: str | None
    """A performance field, or None for the headline score."""
    spec: str
    combine: str
    """How the datasets' values combine: mean or max."""
    maximize: bool
    """Whether more is better."""


PERFORMANCE_NOISE = 0.05
"""Run-to-run noise of a performance measure, relative to the larger value: the suite measures none (its
repeated samples run at another concurrency), so two values within 5% of each other are not told apart."""

MEASURES = (
    Measure("score (0–1)", None, ".3f", "mean", maximize=True),
    Measure("throughput (tokens/s)", "throughput_tokens_per_second", ".1f", "mean", maximize=True),
    Measure("peak GPU memory (GB)", "gpu_memory_peak_gb", ".2f", "max", maximize=False),
    Measure("energy (J / generated token)", "energy_j_per_generated_token", ".4f", "mean", maximize=False),
)


def beyond_noise(measure: Measure, a: float, b: float) -> int:
    """+1 where performance value `a` is better than `b` by more than PERFORMANCE_NOISE, -1 where worse by
    more, 0 within it."""
    if abs(a - b) <= PERFORMANCE_NOISE * max(abs(a), abs(b)):
        return 0
    return 1 if (a > b) == measure.maximize else -1


def score_of(combo: Combination) -> tuple[float | None, int]:
    """The headline score on 0–1 and the sample count of a combination with a record."""
    record = combo.record
    assert record is not None
    headline = headline_of(combo.dataset, record.dataset_metrics)
    if headline is None:
        return None, record.num_samples
    return float(record.dataset_metrics[headline.metric]) / headline.scale, record.num_samples


def combined(
    ctx: ReportContext, model: str, preset: str, datasets: Sequence[str], measure: Measure
) -> tuple[float | None, str]:
    """The measure over `datasets` and its cell: the value with n, or n/a with the reason."""
    values: list[float] = []
    for dataset in datasets:
        record = ctx.tree.combinations[(model, preset, dataset)].record
        assert record is not None
        if measure.field is None:
            value = score_of(ctx.tree.combinations[(model, preset, dataset)])[0]
        else:
            raw = record.performance_metrics.get(measure.field)
            if raw is None:
                return None, f"n/a: {record.performance_unavailable.get(measure.field, 'not measured')}"
            value = float(raw)
        if value is not None:
            values.append(value)
    if not values:
        return None, "n/a"
    result = max(values) if measure.combine == "max" else sum(values) / len(values)
    return result, f"{number(result, measure.spec)} (n={plural(len(values), 'dataset')})"
