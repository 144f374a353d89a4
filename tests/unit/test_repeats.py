"""--repeat-subset: answered samples asked again on the same deployment at another concurrency, stored with
the first answers, the combination's record untouched (the runner against the in-process simulator)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalclient.config import load_config
from evalclient.planning.plan import build_plan
from evalclient.report.paired import noise_floor
from evalclient.report.tree import load_tree
from evalclient.sim.rules import load_rules
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.repeats import repeat_concurrency
from evalclient.sweep.runner import EvaluationRunner, RunOptions

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")


@pytest.fixture
def sim(start_sim: Callable[..., Any]) -> Callable[..., Any]:
    rules = load_rules(demo_data_dir().parent / "demo_rules.yaml")
    return lambda **overrides: start_sim(rules, model_id="Qwen/Qwen2.5-7B-Instruct", **overrides)


def _runner(endpoint: str, out: Path, **kw: Any) -> EvaluationRunner:
    plan = build_plan(
        CONFIG,
        models=["qwen2.5_8b"],
        presets=["balanced"],
        datasets=("gsm8k", "hellaswag"),
        samples=6,
        engine="tgi",
        image=None,
    )
    options = RunOptions(output=out, endpoint=endpoint, data_dir=demo_data_dir(), retry_wait_s=0.01, **kw)
    return EvaluationRunner(CONFIG, plan, options)


@pytest.mark.parametrize(("concurrency", "expected"), [(1, 2), (2, 1), (8, 2), (32, 8)])
def test_repeat_concurrency_differs_from_the_sweeps(concurrency: int, expected: int) -> None:
    assert repeat_concurrency(concurrency) == expected


async def test_repeated_samples_are_stored_beside_the_predictions(sim: Any, tmp_path: Path) -> None:
    url = await sim(prefill_logprobs=True)  # TGI's --enable-prefill-logprobs: hellaswag by log-likelihood
    summary = await _runner(url, tmp_path, repeat_subset=4, concurrency=8).run()
    assert [(o.dataset, o.status) for o in summary.outcomes] == [
        ("gsm8k", "complete"),
        ("hellaswag", "complete"),
    ]
    record = json.loads((tmp_path / "metrics/detailed/qwen2.5_8b_balanced_gsm8k.json").read_text())
    assert record["num_samples"] == 6  # the repeats are not part of the combination
    lines = (tmp_path / "predictions/repeats/qwen2.5_8b_balanced_gsm8k.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    predictions = [
        json.loads(line) for line in (tmp_path / record["predictions_file"]).read_text().splitlines()
    ][:4]
    assert [r["id"] for r in rows] == [p["id"] for p in predictions]
    assert {(r["fingerprint"], r["concurrency"], r["error"]) for r in rows} == {
        (record["fingerprint"], 2, None)
    }
    # the simulator's scripted answers do not depend on the batch: the same text and verdict again
    assert (
        [r["response"] for r in rows]
        == [r["first_response"] for r in rows]
        == [p["response"] for p in predictions]
    )
    assert [r["score"] for r in rows] == [p["score"] for p in predictions]
    tree = load_tree(tmp_path)
    for dataset in ("gsm8k", "hellaswag"):
        floor = noise_floor(tree.combinations[("qwen2.5_8b", "balanced", dataset)])
        assert floor is not None
        assert (floor.repeated, floor.answer_flips, floor.verdict_flips, floor.floor) == (4, 0, 0, 0.0)


async def test_without_the_option_nothing_is_asked_again(sim: Any, tmp_path: Path) -> None:
    await _runner(await sim(), tmp_path).run()
    assert not (tmp_path / "predictions" / "repeats").exists()
