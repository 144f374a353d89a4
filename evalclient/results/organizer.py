"""ResultsOrganizer: the results tree of DESIGN §4 — predictions (three hard-linked views), metrics, logs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalclient.errors import OutputFolderError
from evalclient.results.atomic import atomic_write_json, atomic_write_jsonl, atomic_write_text
from evalclient.results.record import CombinationRecord, load_record

DIRECTORIES = (  # reports/ is made by the report, folder by folder as it writes: a run that ends early
    # leaves no empty report folders
    "logs/model_evaluation",
    "logs/performance_monitoring",
    "logs/dataset_processing",
    "predictions/by_model",
    "predictions/by_dataset",
    "predictions/by_preset",
    "metrics/aggregated",
    "metrics/detailed",
    "metrics/performance",
    "cache/datasets",
    "cache/checkpoints",
)


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d_%H%M%S")


class ResultsOrganizer:
    """Owns one results tree; every write is atomic."""

    def __init__(self, base_dir: Path | str = "comprehensive_evaluation_results") -> None:
        self.base_dir = Path(base_dir)
        self.setup_directory_structure()

    def setup_directory_structure(self) -> None:
        try:
            for directory in DIRECTORIES:
                (self.base_dir / directory).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(
                f"cannot create the results tree in {self.base_dir}: {exc.strerror}",
                "pass --output with a writable folder",
            ) from None

    @property
    def datasets_cache(self) -> Path:
        return self.base_dir / "cache" / "datasets"

    def log_path(self, kind: str, name: str) -> Path:
        return self.base_dir / "logs" / kind / f"{name}.log"

    def save_predictions(
        self, model: str, preset: str, dataset: str, rows: list[dict[str, Any]], stamp: str | None = None
    ) -> list[Path]:
        """Write the predictions JSONL once under by_model and hard-link it into by_dataset and by_preset."""
        name = f"{model}_{preset}_{dataset}_{stamp or timestamp()}.jsonl"
        root = self.base_dir / "predictions"
        primary = root / "by_model" / model / name
        atomic_write_jsonl(primary, rows)
        views = [primary]
        for view in (root / "by_dataset" / dataset / name, root / "by_preset" / preset / name):
            _link_or_copy(primary, view)
            views.append(view)
        return views

    def repeats_path(self, model: str, preset: str, dataset: str) -> Path:
        """The answers asked again for the noise floor (--repeat-subset)."""
        return repeats_file(self.base_dir, model, preset, dataset)

    def judgments_path(self, model: str, preset: str, dataset: str) -> Path:
        """The judge's answers for a judged dataset (mt_bench, alpaca_eval), beside the predictions."""
        return self.base_dir / "predictions" / "judgments" / f"{model}_{preset}_{dataset}.jsonl"

    def judge_scores_path(self, model: str, preset: str, dataset: str) -> Path:
        """Each judge's scores of a judged dataset (judge/store.py `JudgeScores`), beside its judgments."""
        return self.base_dir / "predictions" / "judgments" / f"{model}_{preset}_{dataset}.scores.json"

    def detailed_metrics_path(self, model: str, preset: str, dataset: str) -> Path:
        return self.base_dir / "metrics" / "detailed" / f"{model}_{preset}_{dataset}.json"

    def save_combination(self, record: CombinationRecord) -> Path:
        """Write the combination's record atomically."""
        path = self.detailed_metrics_path(record.model, record.preset, record.dataset)
        atomic_write_text(path, record.model_dump_json(indent=2) + "\n")
        return path

    def load_combination(self, model: str, preset: str, dataset: str) -> CombinationRecord | None:
        """The stored record, None when there is none; ResultsError when the file cannot be read."""
        path = self.detailed_metrics_path(model, preset, dataset)
        return load_record(path) if path.exists() else None

    def iter_combinations(self) -> Iterable[CombinationRecord]:
        """Every stored record, by file name; ResultsError at the first unreadable one."""
        for path in sorted((self.base_dir / "metrics" / "detailed").glob("*.json")):
            yield load_record(path)

    def performance_samples_path(self, model: str, preset: str) -> Path:
        """Where the monitor streams a deployment's raw samples (metrics/performance/<model>_<preset>.csv)."""
        return self.base_dir / "metrics" / "performance" / f"{model}_{preset}.csv"

    def save_performance_samples(self, model: str, preset: str, rows: list[dict[str, Any]]) -> Path:
        """Raw monitor samples as CSV in one atomic write (one row per sample, the union of all columns)."""
        path = self.performance_samples_path(model, preset)
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        lines = [",".join(columns)]
        lines += [",".join(_csv_cell(row.get(c)) for c in columns) for row in rows]
        atomic_write_text(path, "\n".join(lines) + "\n")
        return path

    def checkpoint_path(self, model: str, preset: str, dataset: str) -> Path:
        return self.base_dir / "cache" / "checkpoints" / f"{model}_{preset}_{dataset}.jsonl"

    def manifest_path(self) -> Path:
        return self.base_dir / "manifest.json"

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.manifest_path(), manifest)


def repeats_file(base_dir: Path, model: str, preset: str, dataset: str) -> Path:
    """predictions/repeats/<model>_<preset>_<dataset>.jsonl under `base_dir`."""
    return base_dir / "predictions" / "repeats" / f"{model}_{preset}_{dataset}.jsonl"


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copy2(source, tmp)
    os.replace(tmp, target)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
