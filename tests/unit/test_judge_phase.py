"""The judge phase in-process: the sweep stores answers with scores pending, `judge_results` grades them with
the simulator as an endpoint judge, updates the records, stores every judgment, and a second call sends
nothing; reference answers and AlpacaEval's gamed annotations are joined from their files; an endpoint key
is sent."""

from __future__ import annotations

import json
import random
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hub_standin.repos import gamed_csv
from judged_runs import generate
from reference_harness import alpaca_eval_length_controlled

from evalclient.client.requests import ChatRequest, Sampling
from evalclient.config import load_config
from evalclient.errors import DatasetError
from evalclient.judge import JudgeData, JudgeSettings, endpoint_judge, judge_results, judged_records
from evalclient.judge.data import gamed_rows, load_difficulty
from evalclient.judge.session import JudgeSession
from evalclient.judge.sources import API_KEY_ENV, largest_model
from evalclient.judge.store import JudgmentStore
from evalclient.results import ResultsOrganizer
from evalclient.sim.rules import load_rules
from evalclient.tasks.alpaca_eval import LC_HINT
from evalclient.tasks.context import JudgeItem
from evalclient.tasks.win_rate import GamedRow

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
RULES = ROOT / "evalclient" / "sim" / "data" / "judge_rules.yaml"


def _metrics(results: ResultsOrganizer, dataset: str) -> dict[str, Any]:
    record = results.load_combination("qwen2.5_8b", "balanced", dataset)
    assert record is not None
    return record.dataset_metrics


async def test_generation_pends_then_the_judge_grades_and_a_second_call_sends_nothing(
    start_sim: Any, tmp_path: Path
) -> None:
    url = await start_sim(load_rules(RULES), model_id="Qwen/Qwen2.5-7B-Instruct")
    results = await generate(url, tmp_path)
    pending = _metrics(results, "mt_bench")
    assert (pending["judge_status"], pending["mt_bench_score"], pending["response_quality_score"]) == (
        "pending",
        None,
        None,
    )
    assert (
        pending["pending_reason"] == "graded by a judge model: run `evalclient judge` on this results folder"
    )
    assert _metrics(results, "alpaca_eval")["win_rate"] is None

    identity, opener = endpoint_judge(JudgeSettings(endpoint=url + "/v1/", endpoint_model="sim-judge"))
    gamed = tmp_path / "df_gamed.csv"
    gamed.write_bytes(gamed_csv(4, random.Random(7)))
    data = JudgeData(FIXTURES, results.datasets_cache, gamed=gamed)
    first = await judge_results(results, judged_records(results), identity, opener, data)
    assert (first.sent, first.reused, first.failed) == (11, 0, [])

    mt_bench = _metrics(results, "mt_bench")
    assert mt_bench["mt_bench_score"] == pytest.approx(52 / 7)
    assert (mt_bench["mt_bench_score_turn1"], mt_bench["mt_bench_score_turn2"]) == (8.5, 6.0)
    assert mt_bench["mt_bench_category_scores"] == {
        "humanities": 7.0,
        "math": 8.5,
        "reasoning": 7.0,
        "writing": 7.0,
    }
    assert (mt_bench["num_ratings"], mt_bench["num_judgments_unparseable"], mt_bench["num_judgments"]) == (
        7,
        1,
        8,
    )
    assert mt_bench["response_quality_score"] == pytest.approx(52 / 70)
    assert mt_bench["judge_status"] == "judged"
    assert "pending_reason" not in mt_bench
    assert mt_bench["judge"] == {
        "name": "sim-judge",
        "model": "sim-judge",
        "kind": "endpoint",
        "endpoint": url,
        "self_judge": False,
        "judges_own_answers": False,
    }
    assert mt_bench["judgments_file"] == "predictions/judgments/qwen2.5_8b_balanced_mt_bench.jsonl"
    assert mt_bench["num_samples"] == 4  # generation's answer-quality metrics stay

    alpaca = _metrics(results, "alpaca_eval")
    assert alpaca["win_rate"] == pytest.approx(66.25)
    assert alpaca["response_quality_score"] == pytest.approx(0.6625)
    assert (alpaca["n_wins"], alpaca["n_wins_base"], alpaca["n_draws"], alpaca["n_total"]) == (2, 1, 1, 4)
    assert alpaca["preference_sources"] == {"identical_outputs": 1, "logprobs": 3}
    assert (alpaca["baseline"], alpaca["annotator"], alpaca["alpaca_eval_version"]) == (
        "gpt4_1106_preview",
        "weighted_alpaca_eval_gpt4_turbo",
        "2.0",
    )
    rows = json.loads((FIXTURES / "alpaca_eval.json").read_text())
    answers = [
        "Red, yellow and blue.",
        "Autumn is a season.",
        "Sleep seven to nine hours each night; rest restores the body.",
        rows[3]["output"],
    ]
    assert alpaca["avg_length"] == int(sum(map(len, answers)) / 4)
    annotations = [
        {
            "index": index,
            "output_1": row["output"],
            "output_2": answer,
            "preference": p,
            "generator_1": "gpt4_1106_preview",
            "generator_2": "qwen2.5_8b",
            "annotator": "weighted_alpaca_eval_gpt4_turbo",
        }
        for index, (p, answer, row) in enumerate(zip((1.9, 1.25, 2.0, 1.5), answers, rows, strict=True))
    ]
    alpaca_record = results.load_combination("qwen2.5_8b", "balanced", "alpaca_eval")
    assert alpaca_record is not None
    alpaca_predictions = (tmp_path / alpaca_record.predictions_file).read_text().splitlines()
    wins = {json.loads(line)["id"]: json.loads(line)["score"]["win"] for line in alpaca_predictions}
    assert wins == {"0": pytest.approx(90.0), "1": pytest.approx(25.0), "2": 100.0, "3": 50.0}
    expected = alpaca_eval_length_controlled(annotations, gamed)
    assert alpaca["win_rate"] == pytest.approx(expected["win_rate"], abs=1e-9)
    assert alpaca["length_controlled_winrate"] == pytest.approx(
        expected["length_controlled_winrate"], abs=1e-9
    )
    assert alpaca["lc_standard_error"] == pytest.approx(expected["lc_standard_error"], abs=1e-9)
    assert alpaca["length_controlled_unavailable"] is None

    stored = [json.loads(line) for line in (tmp_path / mt_bench["judgments_file"]).read_text().splitlines()]
    assert len(stored) == 8
    assert {(r["item"], r["meta"]["prompt"]) for r in stored if r["sample_id"] == "22339468"} == {
        ("22339468/turn1", "single-math-v1"),
        ("22339468/turn2", "single-math-v1-multi-turn"),
    }
    math_turn1 = next(r for r in stored if r["item"] == "22339468/turn1")
    assert "[The Start of Reference Answer]\nThe area is 3.\n" in math_turn1["messages"][1]["content"]
    assert math_turn1["judgment"] == "Correct, as the reference. Rating: [[10]]"
    predictions = tmp_path / results.load_combination("qwen2.5_8b", "balanced", "mt_bench").predictions_file  # type: ignore[union-attr]
    verdicts = {
        json.loads(line)["id"]: json.loads(line)["score"] for line in predictions.read_text().splitlines()
    }
    assert verdicts["22339468"]["ratings"] == {"1": 10.0, "2": 7.0}

    second = await judge_results(results, judged_records(results), identity, opener, data)
    assert (second.sent, second.reused) == (0, 11)
    assert len((tmp_path / mt_bench["judgments_file"]).read_text().splitlines()) == 8
    assert _metrics(results, "mt_bench")["mt_bench_score"] == pytest.approx(52 / 7)
    assert _metrics(results, "mt_bench")["num_judgments_reused"] == 8


async def test_without_references_mt_bench_fails_before_any_request_and_alpaca_lc_says_why(
    start_sim: Any, tmp_path: Path
) -> None:
    url = await start_sim(load_rules(RULES), model_id="Qwen/Qwen2.5-7B-Instruct")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for name in ("mt_bench.jsonl", "alpaca_eval.json"):
        (data_dir / name).write_text((FIXTURES / name).read_text())
    results = await generate(url, tmp_path / "out")
    identity, opener = endpoint_judge(JudgeSettings(endpoint=url))
    summary = await judge_results(
        results, judged_records(results), identity, opener, JudgeData(data_dir, results.datasets_cache)
    )
    [failed] = summary.failed
    assert failed.key == "qwen2.5_8b/balanced/mt_bench"
    assert "graded against a reference answer and none was found" in failed.message
    assert "--mt-bench-references" in failed.message
    assert summary.sent == 3  # alpaca_eval only
    assert _metrics(results, "mt_bench")["judge_status"] == "pending"
    alpaca = _metrics(results, "alpaca_eval")
    assert (alpaca["length_controlled_winrate"], alpaca["lc_standard_error"]) == (None, None)
    assert alpaca["length_controlled_unavailable"] == LC_HINT


async def test_judge_items_from_failed_requests_are_retried_by_the_next_call(tmp_path: Path) -> None:
    calls: list[str] = []

    class Flaky:
        async def chat(self, request: ChatRequest) -> Any:
            from evalclient.client.completion import Completion, ErrorKind, RequestError

            calls.append(request.id)
            completion = Completion(request.id, request.kind, "Rating: [[4]]")
            if len(calls) == 1:
                completion.error = RequestError(ErrorKind.HTTP_5XX, "boom", 500)
            return completion

    async def opener(stack: Any) -> Flaky:
        return Flaky()

    item = JudgeItem(
        "a/turn1",
        "a",
        ChatRequest("j", ({"role": "user", "content": "x"},), Sampling(max_tokens=4), stream=False),
    )
    store = JudgmentStore(tmp_path / "j.jsonl")
    async with AsyncExitStack() as stack:
        session = JudgeSession({"name": "flaky"}, opener, stack)
        [failed] = await session.for_store(store).grade([item])
        assert failed.completion.error is not None
        assert store.load() == {}
        [judged] = await session.for_store(store).grade([item])
        assert (judged.completion.text, judged.reused) == ("Rating: [[4]]", False)
        [reused] = await session.for_store(store).grade([item])
        assert reused.reused
    assert (len(calls), session.sent, session.reused) == (2, 2, 1)


async def test_an_endpoint_judge_sends_the_key_from_the_environment(
    serve_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str | None, str]] = []

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "gpt-judge"}]})

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.headers.get("Authorization"), body["model"]))
        message = {"role": "assistant", "content": "Rating: [[4]]"}
        return web.json_response({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    url = await serve_app(app)
    monkeypatch.setenv(API_KEY_ENV, "sk-test-123")
    identity, opener = endpoint_judge(JudgeSettings(endpoint=url))
    item = JudgeItem(
        "a/turn1",
        "a",
        ChatRequest("j", ({"role": "user", "content": "x"},), Sampling(max_tokens=4), stream=False),
    )
    async with AsyncExitStack() as stack:
        store = JudgmentStore(tmp_path / "j.jsonl")
        [judgment] = await JudgeSession(identity, opener, stack).for_store(store).grade([item])
    assert judgment.completion.text == "Rating: [[4]]"
    assert seen == [("Bearer sk-test-123", "gpt-judge")]
    assert "sk-test-123" not in (tmp_path / "j.jsonl").read_text()
    assert identity["name"] == f"endpoint {url}"


def test_the_default_judge_is_the_largest_model_of_the_sweep() -> None:
    config = load_config(ROOT / "presets")
    assert largest_model(config, config.sweep.models).key == "qwen3_14b"
    assert largest_model(config, ["qwen2.5_8b", "qwen2.5_14b"]).key == "qwen2.5_14b"


def test_the_gamed_annotations_file(tmp_path: Path) -> None:
    path = tmp_path / "df_gamed.csv"
    path.write_bytes(gamed_csv(3))
    # the first row of each index gives its difficulty (both gamed models carry the same)
    assert load_difficulty(path) == {"0": -1.0, "1": -0.8, "2": -0.6}
    rows = gamed_rows(path)
    assert len(rows) == 6
    assert rows[0] == GamedRow(index=0, preference=0.62, std_delta_len=-0.6, difficulty=-1.0)
    assert rows[3] == GamedRow(index=0, preference=0.32, std_delta_len=0.6, difficulty=-1.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("index,instruction_difficulty\nx,y\n")
    with pytest.raises(DatasetError, match=r"is not AlpacaEval's df_gamed\.csv"):
        load_difficulty(bad)
    with pytest.raises(DatasetError, match=r"is not AlpacaEval's df_gamed\.csv"):
        gamed_rows(bad)
