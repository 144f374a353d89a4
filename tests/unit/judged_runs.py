"""A generation run of mt_bench and alpaca_eval against a simulator, for the judge phase's tests to judge."""

from __future__ import annotations

from pathlib import Path

from evalclient.config import load_config
from evalclient.planning.plan import build_plan
from evalclient.results import ResultsOrganizer
from evalclient.sweep.runner import EvaluationRunner, RunOptions

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


async def generate(url: str, out: Path) -> ResultsOrganizer:
    """qwen2.5_8b/balanced on both judged datasets, every fixture row, both complete."""
    config = load_config(ROOT / "presets")
    datasets = ("mt_bench", "alpaca_eval")
    plan = build_plan(config, models=("qwen2.5_8b",), presets=("balanced",), datasets=datasets,
                      samples="all", engine="tgi", image=None, mc_mode="auto")  # fmt: skip
    options = RunOptions(output=out, endpoint=url, data_dir=FIXTURES, concurrency=4)
    summary = await EvaluationRunner(config, plan, options).run()
    assert [(o.dataset, o.status) for o in summary.outcomes] == [
        ("mt_bench", "complete"),
        ("alpaca_eval", "complete"),
    ]
    return ResultsOrganizer(out)
