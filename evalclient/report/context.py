"""What every report section reads: the tree, its summary frame, the models' families and sizes, and the
reference preset that model comparisons are made at; and how one combination's score is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evalclient.report.document import with_n
from evalclient.report.headline import headline_of
from evalclient.report.sanity import flags_of
from evalclient.report.tree import Combination, ResultsTree

if TYPE_CHECKING:
    import pandas as pd

REFERENCE_PRESET = "balanced"


@dataclass(frozen=True)
class ModelInfo:
    family: str
    size_class: str
    params_b: float


@dataclass
class ReportContext:
    tree: ResultsTree
    frame: pd.DataFrame
    models: Mapping[str, ModelInfo] = field(default_factory=dict)
    """From presets/models.yaml; a model of the results it does not list has no family (no scaling)."""
    others: list[ResultsTree] = field(default_factory=list)
    """Trees of the same sweep on other images (`--compare`)."""

    @property
    def reference_preset(self) -> str | None:
        """`balanced` where the results have it, else the first preset of the run."""
        presets = self.tree.presets
        return REFERENCE_PRESET if REFERENCE_PRESET in presets else (presets[0] if presets else None)

    def rows(self, **where: Any) -> pd.DataFrame:
        """The frame's rows whose columns equal `where`."""
        frame = self.frame
        for column, value in where.items():
            frame = frame[frame[column] == value]
        return frame


def score_cell(combo: Combination | None) -> str:
    """A combination's headline score as a table shows it: with n, and never a zero for what is not there."""
    if combo is None:
        return "not run"
    record = combo.record
    if record is None or combo.status not in ("complete", "partial"):
        return combo.status
    headline = headline_of(combo.dataset, record.dataset_metrics)
    if headline is None:
        return f"no score (n={record.num_samples})"
    text = with_n(record.dataset_metrics[headline.metric], record.num_samples)
    if record.samples_requested is not None:  # "(n=12 of 500 asked)"
        text = text[:-1] + f" of {record.samples_requested} asked)"
    if combo.status == "partial":
        text = text[:-1] + f", partial: {record.num_errors} errors)"
    blocking = [f.kind for f in flags_of(combo) if f.blocks_ranking and f.kind != "partial"]
    if blocking:
        text += " ⚑ " + ", ".join(dict.fromkeys(blocking))
    return text
