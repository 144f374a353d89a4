"""Print a results tree's summary (metrics/aggregated/summary.csv) as a Markdown table, for the job summary."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

COLUMNS = (
    ("model", "model"),
    ("preset", "preset"),
    ("dataset", "dataset"),
    ("status", "status"),
    ("num_samples", "n"),
    ("score_name", "metric"),
    ("score", "score"),
    ("throughput_tokens_per_second", "tok/s"),
    ("avg_latency_ms", "latency ms"),
    ("num_errors", "errors"),
)


def cell(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value.replace("|", "\\|") or "n/a"
    if number.is_integer():
        return str(int(number))
    return f"{number:.3f}" if abs(number) < 10 else f"{number:.1f}"


def main(results: Path) -> int:
    summary = results / "metrics" / "aggregated" / "summary.csv"
    print(f"## evalclient results: `{results}`\n")
    if not summary.is_file():
        print("No summary was written: the sweep did not get to score any combination (see the job log).")
        return 0
    with summary.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    print("| " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(cell(row.get(key, "")) for key, _ in COLUMNS) + " |")
    failed = [r for r in rows if r.get("status") != "complete"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} combinations complete.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
