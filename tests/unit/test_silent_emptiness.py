"""Nothing silently empty: an empty dataset fails with the reason, fewer samples than asked are recorded and
said, and `score` reports its coverage and refuses duplicate or absent predictions."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evalclient.config import load_config
from evalclient.planning.plan import build_plan
from evalclient.report import build_reports
from evalclient.sim.rules import load_rules
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.runner import EvaluationRunner, RunOptions

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")


@pytest.fixture
def sim_url(start_sim: Callable[..., Any]) -> Callable[[], Any]:
    rules = load_rules(demo_data_dir().parent / "demo_rules.yaml")
    return lambda: start_sim(rules, model_id="Qwen/Qwen2.5-7B-Instruct")


def _runner(endpoint: str, out: Path, data: Path, samples: int) -> EvaluationRunner:
    plan = build_plan(CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=("gsm8k",),
                      samples=samples, engine="tgi", image=None)  # fmt: skip
    return EvaluationRunner(CONFIG, plan, RunOptions(output=out, endpoint=endpoint, data_dir=data))


def _data(tmp_path: Path, rows: int) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    lines = (demo_data_dir() / "gsm8k.jsonl").read_text().splitlines()[:rows]
    (data / "gsm8k.jsonl").write_text("".join(line + "\n" for line in lines))
    return data


async def test_an_empty_data_file_fails_with_the_reason(sim_url: Callable[[], Any], tmp_path: Path) -> None:
    data = _data(tmp_path, 0)
    summary = await _runner(await sim_url(), tmp_path / "out", data, 5).run()
    assert [(o.status, o.error) for o in summary.outcomes] == [
        (
            "failed",
            f"{data / 'gsm8k.jsonl'} has no rows: there is nothing to evaluate for gsm8k; give it rows in "
            "the openai/gsm8k schema, or remove it to read the pinned hub split",
        )
    ]
    assert summary.failed == summary.outcomes  # exit 1
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["combinations"]["qwen2.5_8b/balanced/gsm8k"]["status"] == "failed"


async def test_fewer_rows_than_asked_is_recorded(sim_url: Callable[[], Any], tmp_path: Path) -> None:
    data = _data(tmp_path, 3)
    summary = await _runner(await sim_url(), tmp_path / "out", data, 500).run()
    assert [o.status for o in summary.outcomes] == ["complete"]
    record = json.loads((tmp_path / "out/metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert (record["num_samples"], record["samples_requested"]) == (3, 500)
    build_reports(tmp_path / "out", {})  # everywhere the score appears, the count it stands on
    summary = pd.read_csv(tmp_path / "out/metrics/aggregated/summary.csv")
    assert (summary.loc[0, "num_samples"], summary.loc[0, "samples_requested"]) == (3, 500)
    assert "fewer samples: 3 of the 500 asked (the dataset has no more)" in summary.loc[0, "flags"]
    markdown = (tmp_path / "out/reports/model_comparison/model_comparison.md").read_text()
    assert "| qwen2.5_8b | balanced | 1.000 (n=3 of 500 asked) |" in markdown
    assert "| reasoning | gsm8k | qwen2.5_8b | 1.000 (n=3 of 500 asked samples, 1 dataset) |" in markdown
    again = await _runner(await sim_url(), tmp_path / "out2", data, 3).run()
    assert [o.status for o in again.outcomes] == ["complete"]
    record = json.loads((tmp_path / "out2/metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert (record["num_samples"], record["samples_requested"]) == (3, None)


def _score(predictions: Path, data: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "evalclient", "score", "--dataset", "gsm8k",
               "--predictions", str(predictions), "--data-file", str(data)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_score_reports_its_coverage(tmp_path: Path) -> None:
    data = _data(tmp_path, 12) / "gsm8k.jsonl"
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"id": "0", "response": "#### 1"}\n{"id": "1", "response": "#### 2"}\n')
    done = _score(predictions, data)
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert (metrics["num_scored"], metrics["num_dataset_samples"], metrics["coverage"]) == (2, 12, 2 / 12)
    assert "2 of gsm8k's 12 samples scored: the predictions hold no answer for the other 10" in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"id": "0", "response": "#### 1"}\n{"id": "1", "response": "x"}\n'
            '{"id": "0", "response": "#### 2"}\n',
            "line 3 repeats id '0' (first on line 1)",
        ),
        ("", "holds no predictions: there is nothing to score"),
        ("\n\n", "holds no predictions: there is nothing to score"),
    ],
)
def test_score_refuses_duplicates_and_empty_files(tmp_path: Path, text: str, message: str) -> None:
    data = _data(tmp_path, 12) / "gsm8k.jsonl"
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(text)
    done = _score(predictions, data)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
