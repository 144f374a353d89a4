"""The load probe's output: a table per step in the terminal, JSON, and a throughput-vs-latency plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evalclient.results.atomic import atomic_write_bytes, atomic_write_text

COLUMNS = (
    ("step", "step", ""),
    ("ok", "requests", ""),
    ("errors", "errors", ""),
    ("req/s", "requests_per_s", ".1f"),
    ("out tok/s", "output_tokens_per_s", ".0f"),
    ("TTFT p50/p90/p99 ms", "ttft_ms", ".0f"),
    ("ITL p50/p90/p99 ms", "itl_ms", ".1f"),
    ("E2E p50/p90/p99 ms", "e2e_ms", ".0f"),
    ("goodput", "goodput_share", ".0%"),
)


def render(rows: Sequence[dict[str, Any]], console: Console, title: str) -> None:
    table = Table(title=title)
    for header, key, _ in COLUMNS:
        if key != "goodput_share" or any("goodput_share" in r for r in rows):
            table.add_column(header, justify="left" if key == "step" else "right")
    for row in rows:
        cells = []
        for _, key, spec in COLUMNS:
            if key == "goodput_share" and "goodput_share" not in row:
                continue
            if key in ("ttft_ms", "itl_ms", "e2e_ms"):
                cells.append("/".join(_fmt(row.get(f"{key}_p{q}"), spec) for q in (50, 90, 99)))
            elif key == "requests":
                cells.append(str(row["requests"] - row["errors"]))
            else:
                cells.append(_fmt(row.get(key), spec))
        table.add_row(*cells)
    console.print(table)


def write(path: Path, rows: Sequence[dict[str, Any]], header: dict[str, Any]) -> Path:
    """The JSON file and, beside it, `<name>.png`: output tokens/s against TTFT and E2E p50."""
    atomic_write_text(path, json.dumps({**header, "steps": list(rows)}, indent=2) + "\n")
    plot = path.with_suffix(".png")
    atomic_write_bytes(plot, _plot(rows))
    return plot


def _plot(rows: Sequence[dict[str, Any]]) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    throughput = [r.get("output_tokens_per_s") for r in rows]
    for key, label in (("ttft_ms_p50", "TTFT p50"), ("e2e_ms_p50", "end-to-end p50")):
        points = [
            (float(t), float(r[key]))
            for t, r in zip(throughput, rows, strict=True)
            if t is not None and r.get(key)
        ]
        if points:
            axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
            for (x, y), row in zip(points, rows, strict=False):
                axis.annotate(str(row["step"]), (x, y), fontsize=7, textcoords="offset points", xytext=(4, 4))
    axis.set_xlabel("output tokens / s")
    axis.set_ylabel("latency (ms)")
    axis.set_title("throughput vs latency")
    axis.legend()
    axis.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return "n/a"
    return format(value, spec) if spec else str(value)
