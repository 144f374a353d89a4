"""A judge run never erases the judge scores already stored: a judge that cannot be reached, or answers only
part of the requests, leaves the record, the predictions' verdicts, summary.csv and the reports as they were;
a second judge's complete set is kept beside the first (named by its model) and becomes the headline, and
the first judge's scores stay readable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from free_port import free_port
from judged_runs import generate

from evalclient.config import load_config
from evalclient.judge import JudgeData, JudgeSettings, endpoint_judge, judge_results, judged_records
from evalclient.report import ModelInfo, build_reports
from evalclient.results import ResultsOrganizer
from evalclient.sim.rules import load_rules

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
RULES = ROOT / "evalclient" / "sim" / "data" / "judge_rules.yaml"
MT_BENCH = "qwen2.5_8b/balanced/mt_bench"
ALPACA = "qwen2.5_8b/balanced/alpaca_eval"


def _metrics(results: ResultsOrganizer, dataset: str) -> dict[str, Any]:
    record = results.load_combination("qwen2.5_8b", "balanced", dataset)
    assert record is not None
    return record.dataset_metrics


def _report(results: ResultsOrganizer) -> dict[str, bytes]:
    """Rebuild the reports; every file of metrics/, predictions/ and reports/ (the build time left out)."""
    config = load_config(ROOT / "presets")
    build_reports(
        results.base_dir, {k: ModelInfo(m.family, m.size_class, m.params_b) for k, m in config.models.items()}
    )
    files = {}
    for folder in ("metrics", "predictions/by_model", "reports"):
        for path in sorted((results.base_dir / folder).rglob("*")):
            if path.is_file():
                text = path.read_bytes()
                if path.suffix in (".md", ".html"):
                    text = b"\n".join(line for line in text.split(b"\n") if b"Built " not in line)
                files[str(path.relative_to(results.base_dir))] = text
    return files


def _scores(results: ResultsOrganizer, dataset: str) -> dict[str, Any]:
    path = results.judge_scores_path("qwen2.5_8b", "balanced", dataset)
    return dict(json.loads(path.read_text())["judges"])


def _endpoint(url: str, model: str) -> tuple[dict[str, Any], Any]:
    return endpoint_judge(JudgeSettings(endpoint=url, endpoint_model=model, max_retries=0))


async def _judged_by_sim(start_sim: Any, tmp_path: Path) -> tuple[str, ResultsOrganizer]:
    """Answers generated and judged completely by `sim-judge` (mt_bench 52/7, alpaca_eval 66.25)."""
    url = await start_sim(load_rules(RULES), model_id="Qwen/Qwen2.5-7B-Instruct")
    results = await generate(url, tmp_path)
    summary = await judge_results(
        results, judged_records(results), *_endpoint(url, "sim-judge"), JudgeData(FIXTURES)
    )
    assert (summary.sent, summary.failed) == (11, [])
    assert _metrics(results, "mt_bench")["mt_bench_score"] == pytest.approx(52 / 7)
    assert _metrics(results, "alpaca_eval")["win_rate"] == pytest.approx(66.25)
    return url, results


async def test_a_judge_that_cannot_be_reached_leaves_the_scores_and_the_report_unchanged(
    start_sim: Any, tmp_path: Path
) -> None:
    _, results = await _judged_by_sim(start_sim, tmp_path)
    before = _report(results)
    assert b"metric.judges.sim-judge.mt_bench_score" in before["metrics/aggregated/summary.csv"]

    unreachable = f"http://127.0.0.1:{free_port()}"
    summary = await judge_results(
        results, judged_records(results), *_endpoint(unreachable, "x2"), JudgeData(FIXTURES)
    )
    assert [(o.key, o.status) for o in summary.outcomes] == [(ALPACA, "incomplete"), (MT_BENCH, "incomplete")]
    assert summary.sent == 11
    message = summary.outcomes[1].message
    assert message.startswith("judge x2: 8 judge request(s) failed, the first: connection: ")
    assert message.endswith(
        "; rerun to retry; 0 judgments (8 sent, 0 reused); mt_bench_score stays 7.429, judged by sim-judge"
    )
    assert summary.outcomes[0].message.endswith("; win_rate stays 66.25, judged by sim-judge")
    assert _report(results) == before
    mt_bench = _metrics(results, "mt_bench")
    assert (mt_bench["judge"]["name"], mt_bench["judge_status"]) == ("sim-judge", "judged")
    assert mt_bench["judges"] == {
        "sim-judge": {
            "mt_bench_score": pytest.approx(52 / 7),
            "mt_bench_score_turn1": 8.5,
            "mt_bench_score_turn2": 6.0,
        }
    }
    scores = _scores(results, "mt_bench")
    assert sorted(scores) == ["sim-judge", "x2"]
    assert scores["sim-judge"]["complete"]["metrics"]["mt_bench_score"] == pytest.approx(52 / 7)
    assert "complete" not in scores["x2"]
    assert (scores["x2"]["last_run"]["status"], scores["x2"]["last_run"]["message"]) == (
        "incomplete",
        message,
    )
    assert scores["x2"]["last_run"]["metrics"]["num_judge_errors"] == 8
    assert scores["x2"]["judge"]["endpoint"] == unreachable


def _rating_judge(failing: int = 0, answer: str = "Rating: [[3]]") -> tuple[web.Application, list[int]]:
    """A judge that gives every answer `answer` (a rating of 3), its first `failing` requests HTTP 500."""
    calls: list[int] = []

    async def chat(request: web.Request) -> web.Response:
        calls.append(len(calls))
        if len(calls) <= failing:
            return web.Response(status=500, text="judge overloaded")
        message = {"role": "assistant", "content": answer}
        return web.json_response({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app, calls


def _ratings(results: ResultsOrganizer) -> list[dict[str, Any]]:
    record = results.load_combination("qwen2.5_8b", "balanced", "mt_bench")
    assert record is not None
    assert record.predictions_file is not None
    lines = (results.base_dir / record.predictions_file).read_text().splitlines()
    return sorted((json.loads(line)["score"]["ratings"] for line in lines), key=str)


async def test_a_second_judge_is_kept_beside_the_first_and_the_last_complete_set_is_the_headline(
    start_sim: Any, serve_app: Any, tmp_path: Path
) -> None:
    sim, results = await _judged_by_sim(start_sim, tmp_path)
    first_ratings = _ratings(results)
    app, _ = _rating_judge()
    other = await serve_app(app)
    records = judged_records(results, datasets=("mt_bench",))
    summary = await judge_results(results, records, *_endpoint(other, "judge-b"), JudgeData(FIXTURES))
    [outcome] = summary.outcomes
    assert (outcome.status, outcome.message) == (
        "judged",
        "mt_bench_score 3; 8 judgments (8 sent, 0 reused); the headline now, in place of judge sim-judge's "
        "(kept under `judges`)",
    )
    mt_bench = _metrics(results, "mt_bench")
    assert (mt_bench["mt_bench_score"], mt_bench["judge"]["name"], mt_bench["judge"]["endpoint"]) == (
        3.0,
        "judge-b",
        other,
    )
    judges = {
        "judge-b": {"mt_bench_score": 3.0, "mt_bench_score_turn1": 3.0, "mt_bench_score_turn2": 3.0},
        "sim-judge": {
            "mt_bench_score": pytest.approx(52 / 7),
            "mt_bench_score_turn1": 8.5,
            "mt_bench_score_turn2": 6.0,
        },
    }
    assert mt_bench["judges"] == judges
    assert all(set(r.values()) == {3.0} for r in _ratings(results))
    scores = _scores(results, "mt_bench")
    assert scores["sim-judge"]["complete"]["metrics"]["mt_bench_category_scores"]["math"] == 8.5
    assert scores["judge-b"]["complete"]["metrics"]["num_ratings"] == 8
    assert _metrics(results, "alpaca_eval")["judge"]["name"] == "sim-judge"  # not judged by judge-b

    again = await judge_results(results, records, *_endpoint(sim, "sim-judge"), JudgeData(FIXTURES))
    assert (again.sent, again.reused, again.failed) == (0, 8, [])
    mt_bench = _metrics(results, "mt_bench")
    assert (mt_bench["mt_bench_score"], mt_bench["judge"]["name"]) == (pytest.approx(52 / 7), "sim-judge")
    assert mt_bench["judges"] == judges
    assert _ratings(results) == first_ratings


async def test_a_judge_that_answers_part_leaves_the_first_scores_until_its_set_is_complete(
    start_sim: Any, serve_app: Any, tmp_path: Path
) -> None:
    _, results = await _judged_by_sim(start_sim, tmp_path)
    before = _report(results)
    app, calls = _rating_judge(failing=3)
    other = await serve_app(app)
    records = judged_records(results, datasets=("mt_bench",))
    summary = await judge_results(results, records, *_endpoint(other, "judge-b"), JudgeData(FIXTURES))
    [outcome] = summary.outcomes
    assert outcome.status == "incomplete"
    assert outcome.message.startswith("judge judge-b: 3 judge request(s) failed, the first: ")
    assert outcome.message.endswith(
        "; rerun to retry; 5 judgments (8 sent, 0 reused); mt_bench_score stays 7.429, judged by sim-judge"
    )
    assert _report(results) == before
    assert "complete" not in _scores(results, "mt_bench")["judge-b"]

    retried = await judge_results(results, records, *_endpoint(other, "judge-b"), JudgeData(FIXTURES))
    assert (retried.sent, retried.reused, retried.failed, len(calls)) == (3, 5, [], 11)
    mt_bench = _metrics(results, "mt_bench")
    assert (mt_bench["mt_bench_score"], mt_bench["judge"]["name"], sorted(mt_bench["judges"])) == (
        3.0,
        "judge-b",
        ["judge-b", "sim-judge"],
    )


async def test_without_a_complete_set_the_record_says_why_and_shows_no_score(
    start_sim: Any, tmp_path: Path
) -> None:
    url = await start_sim(load_rules(RULES), model_id="Qwen/Qwen2.5-7B-Instruct")
    results = await generate(url, tmp_path)
    predictions = {k: v for k, v in _report(results).items() if k.startswith("predictions/")}
    unreachable = f"http://127.0.0.1:{free_port()}"
    records = judged_records(results, datasets=("mt_bench",))
    summary = await judge_results(results, records, *_endpoint(unreachable, "x2"), JudgeData(FIXTURES))
    [outcome] = summary.outcomes
    assert outcome.status == "incomplete"
    assert outcome.message.endswith(
        "; 0 judgments (8 sent, 0 reused); no mt_bench_score until a judge's set is complete"
    )
    mt_bench = _metrics(results, "mt_bench")
    assert (mt_bench["judge_status"], mt_bench["mt_bench_score"], mt_bench["judge"]) == (
        "incomplete",
        None,
        None,
    )
    assert mt_bench["pending_reason"].startswith(
        "judge x2: 8 judge request(s) failed, the first: connection: "
    )
    assert "judges" not in mt_bench
    assert {k: v for k, v in _report(results).items() if k.startswith("predictions/")} == predictions

    judged = await judge_results(results, records, *_endpoint(url, "sim-judge"), JudgeData(FIXTURES))
    assert judged.failed == []
    mt_bench = _metrics(results, "mt_bench")
    assert (mt_bench["judge_status"], mt_bench["mt_bench_score"]) == ("judged", pytest.approx(52 / 7))
    assert "pending_reason" not in mt_bench


async def test_a_record_judged_before_per_judge_scores_keeps_its_judge_beside_the_new_one(
    start_sim: Any, serve_app: Any, tmp_path: Path
) -> None:
    _, results = await _judged_by_sim(start_sim, tmp_path)
    record = results.load_combination("qwen2.5_8b", "balanced", "mt_bench")
    assert record is not None
    del record.dataset_metrics["judges"]  # as an earlier evalclient wrote it
    results.save_combination(record)
    app, _ = _rating_judge()
    records = judged_records(results, datasets=("mt_bench",))
    await judge_results(results, records, *_endpoint(await serve_app(app), "judge-b"), JudgeData(FIXTURES))
    judges = _metrics(results, "mt_bench")["judges"]
    assert (judges["judge-b"]["mt_bench_score"], judges["sim-judge"]["mt_bench_score"]) == (
        3.0,
        pytest.approx(52 / 7),
    )


async def test_an_unreadable_scores_file_fails_the_combination_before_any_request(
    start_sim: Any, tmp_path: Path
) -> None:
    url, results = await _judged_by_sim(start_sim, tmp_path)
    path = results.judge_scores_path("qwen2.5_8b", "balanced", "mt_bench")
    path.write_text("{torn")
    before = _report(results)
    records = judged_records(results, datasets=("mt_bench",))
    summary = await judge_results(results, records, *_endpoint(url, "sim-judge"), JudgeData(FIXTURES))
    [outcome] = summary.outcomes
    assert (outcome.status, summary.sent, summary.reused) == ("failed", 0, 0)
    assert outcome.message.startswith(f"cannot read the judges' scores {path}: ")
    assert path.read_text() == "{torn"
    assert _report(results) == before


async def test_a_judge_whose_judgments_give_no_score_leaves_the_first_scores(
    start_sim: Any, serve_app: Any, tmp_path: Path
) -> None:
    _, results = await _judged_by_sim(start_sim, tmp_path)
    before = _report(results)
    app, _ = _rating_judge(answer="A fine answer; I would not put a number on it.")
    records = judged_records(results, datasets=("mt_bench",))
    summary = await judge_results(
        results, records, *_endpoint(await serve_app(app), "judge-b"), JudgeData(FIXTURES)
    )
    [outcome] = summary.outcomes
    assert (outcome.status, outcome.message) == (
        "incomplete",
        "judge judge-b: no mt_bench_score: none of its 8 judgment(s) could be read; 8 judgments (8 sent, "
        "0 reused); mt_bench_score stays 7.429, judged by sim-judge",
    )
    assert _report(results) == before
