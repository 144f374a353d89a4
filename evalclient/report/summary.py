"""The end-of-run summary table: one row per combination the run evaluated, printed in the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from evalclient.report.headline import headline_of
from evalclient.results import CombinationRecord

COLUMNS = (
    "model",
    "preset",
    "dataset",
    "status",
    "num_samples",
    "score_name",
    "score",
    "num_failed_parse",
    "throughput_tokens_per_second",
    "avg_latency_ms",
    "ttft_ms_p50",
    "gpu_utilization_percent",
    "gpu_memory_peak_gb",
    "num_errors",
)


def summary_rows(records: Iterable[CombinationRecord]) -> list[dict[str, Any]]:
    """Flatten combination records into summary rows (one per combination)."""
    rows = []
    for record in records:
        dataset = record.dataset_metrics
        perf = record.performance_metrics
        headline = headline_of(record.dataset, dataset)
        name = headline.metric if headline else None
        rows.append(
            {
                "model": record.model,
                "preset": record.preset,
                "dataset": record.dataset,
                "status": record.status,
                "num_samples": record.num_samples,
                "samples_requested": record.samples_requested,
                "score_name": name,
                "score": dataset.get(name) if name else None,
                "num_failed_parse": dataset.get("num_failed_parse"),
                **{key: perf.get(key) for key in COLUMNS[8:-1]},
                "num_errors": record.num_errors,
                "run_id": record.run_id,
                "timestamp": record.timestamp,
            }
        )
    return sorted(rows, key=lambda r: (str(r["model"]), str(r["preset"]), str(r["dataset"])))


def render_summary(rows: list[dict[str, Any]], console: Console) -> None:
    """Print the summary table."""
    if not rows:
        console.print("no combination completed in this run")
        return
    table = Table(title="evaluation summary", show_lines=False)
    for header in (
        "model",
        "preset",
        "dataset",
        "n",
        "score",
        "unparsed",
        "tok/s",
        "latency ms",
        "TTFT p50",
        "GPU %",
        "errors",
    ):
        table.add_column(header, justify="left" if header in ("model", "preset", "dataset") else "right")
    for row in rows:
        score = "—" if row["score"] is None else f"{row['score_name']} {row['score']:.3f}"
        table.add_row(
            str(row["model"]),
            str(row["preset"]),
            str(row["dataset"]),
            _fmt(row["num_samples"])
            + (f" of {row['samples_requested']}" if row.get("samples_requested") is not None else ""),
            score,
            _fmt(row["num_failed_parse"]),
            _fmt(row["throughput_tokens_per_second"], ".1f"),
            _fmt(row["avg_latency_ms"], ".0f"),
            _fmt(row["ttft_ms_p50"], ".0f"),
            _fmt(row["gpu_utilization_percent"], ".0f"),
            _fmt(row["num_errors"]),
        )
    console.print(table)


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "n/a"
    return format(value, spec) if spec else str(value)
