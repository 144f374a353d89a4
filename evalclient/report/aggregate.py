"""metrics/aggregated/summary.{csv,parquet}: one row per combination of the tree — its status (missing and
failed ones too, with why), its headline score, every dataset metric (`metric.<name>`, nested ones dotted),
every performance metric with the reasons of its nulls (its `num_errors`, failed requests, is
`num_request_errors`), and its provenance (engine, image, launcher flags).
The reports read the same frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalclient.monitor.report import PERFORMANCE_FIELDS
from evalclient.report.families import family_of
from evalclient.report.headline import headline_of
from evalclient.report.sanity import flags_of, ranked
from evalclient.report.serving import serving_of
from evalclient.report.tree import Combination, ResultsTree
from evalclient.results.atomic import atomic_write_bytes

if TYPE_CHECKING:
    import pandas as pd

BASE_COLUMNS = (
    "model",
    "preset",
    "dataset",
    "family",
    "status",
    "reason",
    "ranked",
    "flags",
    "num_samples",
    "samples_requested",
    "num_errors",
    "score_name",
    "score",
    "score_01",
)
_PERF_RENAMED = {"num_errors": "num_request_errors"}  # num_errors is the record's: samples that failed
PROVENANCE_COLUMNS = (
    "engine",
    "engine_version",
    "serving_path",
    "substitutions",
    "image",
    "image_id",
    "flags_command",
    "model_id",
    "model_revision",
    "run_id",
    "timestamp",
)


def summary_frame(tree: ResultsTree) -> pd.DataFrame:
    """The frame of every combination, in model, preset, dataset order."""
    import pandas as pd

    rows = [_row(tree.combinations[key]) for key in _sorted_keys(tree)]
    metric_columns = sorted({k for row in rows for k in row if k.startswith("metric.")})
    perf_columns = [_PERF_RENAMED.get(f, f) for f in (*PERFORMANCE_FIELDS, "time_to_ready_s")]
    columns = [*BASE_COLUMNS, *perf_columns, "performance_unavailable", *PROVENANCE_COLUMNS, *metric_columns]
    return pd.DataFrame(rows, columns=columns)


def write_summary(base_dir: Path, frame: pd.DataFrame) -> list[Path]:
    """metrics/aggregated/summary.csv and summary.parquet (atomic)."""
    folder = base_dir / "metrics" / "aggregated"
    csv_path, parquet_path = folder / "summary.csv", folder / "summary.parquet"
    atomic_write_bytes(csv_path, frame.to_csv(index=False).encode("utf-8"))
    atomic_write_bytes(parquet_path, _parquet_safe(frame).to_parquet(index=False))
    return [csv_path, parquet_path]


def _row(combo: Combination) -> dict[str, Any]:
    record = combo.record
    row: dict[str, Any] = {
        "model": combo.model,
        "preset": combo.preset,
        "dataset": combo.dataset,
        "family": family_of(combo.dataset),
        "status": combo.status,
        "reason": combo.reason,
        "ranked": ranked(combo),
        "flags": "; ".join(f"{f.kind}: {f.detail}" for f in flags_of(combo)) or None,
    }
    if record is None:
        return row
    headline = headline_of(combo.dataset, record.dataset_metrics)
    score = record.dataset_metrics.get(headline.metric) if headline else None
    serving = serving_of(combo)
    row.update(
        num_samples=record.num_samples,
        samples_requested=record.samples_requested,
        num_errors=record.num_errors,
        score_name=headline.metric if headline else None,
        score=score,
        score_01=score / headline.scale if headline and score is not None else None,
        performance_unavailable=json.dumps(record.performance_unavailable, sort_keys=True),
        engine=record.engine,
        engine_version=serving.get("engine_version"),
        serving_path=serving.get("serving_path"),
        substitutions="; ".join(serving.get("substitutions") or ()) or None,
        image=record.provenance.get("image") or serving.get("image"),
        image_id=record.provenance.get("image_id"),
        flags_command=record.provenance.get("command"),
        model_id=record.model_id,
        model_revision=record.model_revision,
        run_id=record.run_id,
        timestamp=record.timestamp,
    )
    row.update({_PERF_RENAMED.get(k, k): v for k, v in record.performance_metrics.items()})
    row.update(_flatten("metric", record.dataset_metrics))
    return row


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(f"{prefix}.{key}", inner))
        return flat
    if isinstance(value, list):
        return {prefix: json.dumps(value)}
    return {prefix: value}


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing numbers and text (rare: a metric that is a word in one task) become text."""
    safe = frame.copy()
    for column in safe.columns:
        kinds = {type(v) for v in safe[column].dropna()}
        if str in kinds and len(kinds) > 1:
            safe[column] = safe[column].map(lambda v: None if v is None else str(v))
    return safe


def _sorted_keys(tree: ResultsTree) -> list[tuple[str, str, str]]:
    models, presets, datasets = tree.models, tree.presets, tree.datasets
    return sorted(
        tree.combinations,
        key=lambda k: (models.index(k[0]), presets.index(k[1]), datasets.index(k[2])),
    )
