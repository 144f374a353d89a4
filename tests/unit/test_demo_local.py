"""`evalclient demo --local`: the whole pipeline against simulator processes, without Docker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_local_demo_writes_every_combination(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "evalclient", "demo", "--local", "--samples", "4", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "simulator as a local process" in result.stderr
    detailed = sorted(p.name for p in (out / "metrics" / "detailed").glob("*.json"))
    assert len(detailed) == 12  # 2 models x 3 presets x 2 datasets
    scores = {}
    for name in detailed:
        record = json.loads((out / "metrics" / "detailed" / name).read_text())
        assert record["num_samples"] == 4
        assert record["performance_metrics"]["num_errors"] == 0
        scores[(record["model"], record["dataset"])] = record["dataset_metrics"]["accuracy"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert len(manifest["combinations"]) == 12
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert "evaluation summary" in result.stdout
