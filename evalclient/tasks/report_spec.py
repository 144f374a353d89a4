"""What the reports need from a task, declared by the task (`TaskSpec.report`): its headline metric, its
chance level and the family it is compared in. The reports (evalclient/report/) read it by dataset name.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal, get_args

ReportFamily = Literal["reasoning", "knowledge", "code", "function calling", "conversation"]
REPORT_FAMILIES: tuple[ReportFamily, ...] = get_args(ReportFamily)
"""The families the reports compare models on, in report order."""


@dataclass(frozen=True)
class Headline:
    """A headline metric: its name in dataset_metrics, the per-sample verdict field it is the mean of (for
    the paired tests and flip rates), whether that field is a 0/1 verdict, and its scale. A weighted mean of
    group means (bfcl's `ast_accuracy`) names the verdict field of its groups and their weights."""

    metric: str
    verdict_key: str
    binary: bool
    scale: float = 1.0
    """What the metric's best score is (100 for BLEU), to put it on 0–1."""
    higher_is_better: bool = True
    group_key: str | None = None
    """The verdict field whose groups the metric weighs (None: the plain mean over the samples)."""
    group_weights: Callable[[Collection[str]], dict[str, float]] | None = None
    """The weight of each group present (a group left out weighs nothing)."""


ACCURACY = Headline("accuracy", "correct", binary=True)
ACC = Headline("acc", "correct", binary=True)
ACC_NORM = Headline("acc_norm", "correct_norm", binary=True)
MC2 = Headline("mc2", "mc2", binary=False)
PASS_AT_1 = Headline("pass@1", "correct", binary=True)
EXACT_MATCH = Headline("exact_match", "correct", binary=True)


@dataclass(frozen=True)
class ReportSpec:
    """A task's declaration for the reports."""

    headlines: tuple[Headline, ...]
    """In order of preference: the first the combination reports is its headline (generative multiple
    choice reports `accuracy` only; log-likelihood reports acc_norm / acc / mc2 beside it)."""
    family: ReportFamily
    chance: float | None = None
    """The chance level of `accuracy` where the samples do not list their choices (generative multiple
    choice); None: open answers, where guessing scores 0. Log-likelihood samples give 1/choices."""

    def __post_init__(self) -> None:
        if not all(h.higher_is_better for h in self.headlines):
            raise ValueError(
                "the reports rank higher scores as better; a lower-is-better headline is unsupported"
            )
