"""The bfcl task: rows, modes, what is sent, verdicts, metrics, offline scoring, and ground-truth answers."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from bfcl_answers import native_calls, prompt_answer
from recording_model import RecordingModel

from evalclient.client import ChatRequest, Completion, RequestKind
from evalclient.client.completion import ErrorKind, RequestError
from evalclient.errors import DatasetError, UsageError
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.base import Sample, SampleOutput, TaskOptions, TaskSpec
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.function_calling import bfcl_data
from evalclient.tasks.function_calling.bfcl import verdict
from evalclient.tasks.function_calling.bfcl_metrics import bfcl_metrics
from evalclient.tasks.function_calling.bfcl_prompts import SYSTEM_PROMPT
from evalclient.tasks.offline_scoring import prediction_output, score_predictions
from evalclient.tasks.options import configured_task, parse_selector

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "evalclient" / "sim" / "data" / "demo" / "bfcl.jsonl"
CASES = ROOT / "tests" / "fixtures" / "bfcl_cases.jsonl"


def _task(mode: str | None = None) -> TaskSpec:
    return get_task("bfcl").with_options(TaskOptions(mode=mode))


def _samples(path: Path = DEMO) -> list[Sample]:
    return DatasetManager(data_files={"bfcl": path}).get_evaluation_samples("bfcl", None)


def _sent(task: TaskSpec, sample: Sample) -> ChatRequest:
    model = RecordingModel()
    assert task.solver is not None
    asyncio.run(task.solver(sample, model))
    [request] = model.requests
    assert isinstance(request, ChatRequest)
    return request


def _score(task: TaskSpec, samples: list[Sample], lines: dict[str, dict[str, Any]]) -> Any:
    outputs = {s.id: prediction_output({"id": s.id, **lines[s.id]}) for s in samples}
    assert task.scorer is not None
    return asyncio.run(task.scorer(samples, outputs, ScoreContext()))


def test_rows_get_their_category_and_keep_the_hub_schema() -> None:
    samples = _samples()
    assert [s.row["category"] for s in samples] == [
        *["simple_python"] * 3,
        "simple_java",
        "simple_javascript",
        *["multiple"] * 2,
        *["parallel"] * 2,
        "parallel_multiple",
        *["irrelevance"] * 2,
    ]
    assert samples[-1].row["ground_truth"] == []
    v3 = bfcl_data.prepare_rows(
        [
            {
                "id": "java_4",
                "question": [[{"role": "user", "content": "q"}]],
                "function": [{"name": "f"}],
                "ground_truth": [{"f": {}}],
            }
        ]
    )
    assert v3[0]["category"] == "simple_java"  # BFCL v3's names read as v4's
    flat = bfcl_data.prepare_rows([{**samples[0].row, "question": [{"role": "user", "content": "q"}]}])
    assert flat[0]["question"] == [[{"role": "user", "content": "q"}]]  # one turn without the list of turns


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "live_simple_3"}, "bfcl category 'live_simple' is not one of simple_python"),
        ({"ground_truth": []}, "bfcl row simple_python_0: `ground_truth` must be a list"),
        ({"ground_truth": [{"f": {"a": [1]}, "g": {}}]}, "`ground_truth` must be a list"),
        ({"question": [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]}, "one turn"),
        ({"function": "f"}, "`function` must be a list of named functions"),
    ],
)
def test_malformed_rows_are_named(change: dict[str, Any], message: str) -> None:
    row = {**json.loads(DEMO.read_text().splitlines()[0]), **change}
    with pytest.raises(DatasetError, match=message):
        bfcl_data.prepare_rows([row])


def test_hub_rows_join_each_category_with_its_answers(hub: Any, tmp_path: Path) -> None:
    from evalclient.tasks.hub import HubStore

    rows = bfcl_data.prepare_rows(bfcl_data.hub_rows(HubStore.of(tmp_path)))
    counts = Counter(r["category"] for r in rows)
    assert counts == bfcl_data.ROWS  # BFCL v3's 400, 100, 50, 200, 200, 200 and 240
    firsts = [next(r["id"] for r in rows if r["category"] == c) for c in bfcl_data.CATEGORIES]
    assert firsts[:3] == ["simple_0", "java_0", "javascript_0"]  # v3's names, read as v4's categories
    assert all(r["ground_truth"] for r in rows if r["category"] != "irrelevance")
    assert all(r["ground_truth"] == [] for r in rows if r["category"] == "irrelevance")
    files = [p.rsplit("/", 2)[-1] if "possible_answer" not in p else "possible_answer/" + p.rsplit("/", 1)[-1]
             for p in hub.downloaded()]  # fmt: skip
    assert "possible_answer/BFCL_v3_irrelevance.json" not in files
    assert len(files) == 13


def test_sampling_is_stratified_by_category() -> None:
    samples = DatasetManager(data_files={"bfcl": DEMO}).get_evaluation_samples("bfcl", 9)
    counts = Counter(s.row["category"] for s in samples)  # 9/12 of 3, 1, 1, 2, 2, 1, 2 by largest remainder
    assert counts == {
        "simple_python": 2,
        "simple_java": 1,
        "simple_javascript": 1,
        "multiple": 1,
        "parallel": 1,
        "parallel_multiple": 1,
        "irrelevance": 2,
    }


def test_modes_are_chosen_with_a_selector_and_recorded() -> None:
    name, options = parse_selector("bfcl:prompt")
    assert (name, options.mode) == ("bfcl", "prompt")
    task = configured_task(name, options, engine_kinds={RequestKind.CHAT}, mc_mode="loglikelihood")
    assert task.request_parameters()["mode"] == "prompt"
    default = configured_task("bfcl", TaskOptions(), engine_kinds={RequestKind.CHAT})
    assert (default.mode, default.request_parameters()["mode"]) == ("native", "native")
    with pytest.raises(UsageError, match="bfcl has no mode 'generative'; modes: native, prompt"):
        configured_task("bfcl", TaskOptions(mode="generative"), engine_kinds={RequestKind.CHAT})
    with pytest.raises(UsageError, match="gsm8k has no mode 'prompt'"):
        configured_task("gsm8k", TaskOptions(mode="prompt"), engine_kinds={RequestKind.CHAT})
    with pytest.raises(UsageError, match="bfcl takes a mode only"):
        _task().with_options(TaskOptions(num_fewshot=3))


def test_native_mode_sends_tools_with_underscores_and_bfcls_hints() -> None:
    samples = _samples()
    request = _sent(_task(), samples[0])
    assert request.messages == (
        {"role": "user", "content": "What is the area of a circle with a radius of 7 centimeters?"},
    )
    [tool] = request.tools
    assert tool["type"] == "function"
    function = tool["function"]
    assert function["name"] == "geometry_circle_area"
    assert function["description"].endswith(" Note that the provided function is in Python 3 syntax.")
    assert function["parameters"]["type"] == "object"
    assert function["parameters"]["properties"]["radius"] == {
        "type": "number",
        "format": "float",
        "description": "The radius of the circle. This is a float type value.",
    }
    java = _sent(_task(), samples[3]).tools[0]["function"]
    assert java["name"] == "DatabaseConnector_openConnection"
    assert java["parameters"]["properties"]["timeoutMillis"] == {
        "type": "string",
        "description": "How long to wait for the connection, in milliseconds. "
        "This is Java long type parameter in string representation.",
    }
    assert samples[0].row["function"][0]["name"] == "geometry.circle_area"  # the row is not changed


def test_prompt_mode_puts_bfcls_system_prompt_first() -> None:
    sample = _samples()[4]
    request = _sent(_task("prompt"), sample)
    assert request.tools == ()
    system, user = request.messages
    assert system["role"] == "system"
    assert system["content"].startswith("You are an expert in composing functions.You are given a question")
    assert (
        "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)].  You"
        in system["content"]
    )
    documented = json.loads(system["content"].split("that you can invoke.\n", 1)[1])
    assert documented[0]["name"] == "debounceInput"
    assert documented[0]["description"].endswith("Note that the provided function is in JavaScript syntax.")
    assert documented[0]["parameters"]["properties"]["delay"]["type"] == "string"
    assert user == sample.row["question"][0][0]
    assert SYSTEM_PROMPT.endswith("that you can invoke.\n{functions}\n")
    with_system = {
        **sample.row,
        "question": [[{"role": "system", "content": "Be brief."}, *sample.row["question"][0]]],
    }
    first = _sent(_task("prompt"), Sample(sample.id, with_system)).messages[0]
    assert first["content"].endswith("}\n]\n\n\nBe brief.")


@pytest.mark.parametrize("path", [DEMO, CASES])
def test_ground_truth_answers_score_one_in_both_modes(path: Path) -> None:
    samples = _samples(path)
    native = {s.id: {"tool_calls": native_calls(s.row)} for s in samples}
    prompt = {s.id: {"response": prompt_answer(s.row)} for s in samples}
    for s in samples:
        if s.row["category"] == "irrelevance":
            native[s.id] = prompt[s.id] = {"response": "None of these functions can answer the question."}
    for mode, lines in (("native", native), ("prompt", prompt)):
        metrics = _score(_task(mode), samples, lines).metrics
        assert (metrics["accuracy"], metrics["ast_accuracy"], metrics["mode"]) == (1.0, 1.0, mode)
        assert metrics["function_calling_success_rate"] == 1.0
        assert metrics["num_failed_parse"] == 0


def test_verdicts_name_bfcls_error_types() -> None:
    samples = {s.id: s.row for s in _samples()}

    def judged(sample_id: str, mode: str, **line: Any) -> dict[str, Any]:
        return verdict(samples[sample_id], prediction_output({"id": sample_id, **line}), mode)

    wrong_type = judged(
        "simple_python_0",
        "native",
        tool_calls=[{"name": "geometry_circle_area", "arguments": {"radius": "7"}}],
    )
    assert (wrong_type["correct"], wrong_type["parsed"], wrong_type["error_type"]) == (
        False,
        True,
        "type_error:simple",
    )
    assert wrong_type["decoded"] == [{"geometry_circle_area": {"radius": "7"}}]
    text = judged("simple_python_0", "native", response="The area is 153.9 square centimeters.")
    assert (text["correct"], text["parsed"], text["well_formed"], text["error_type"]) == (
        False,
        False,
        False,
        "ast_decoder:decoder_failed",
    )
    unparsed = judged("simple_python_0", "prompt", response="[geometry.circle_area(radius=7.0), 3]")
    assert unparsed["error_type"] == "ast_decoder:decoder_failed"
    empty = judged("parallel_0", "prompt", response="[]")
    assert (empty["parsed"], empty["error_type"]) == (False, "parallel_function_checker_no_order:wrong_count")
    args = judged(
        "simple_python_0", "native", tool_calls=[{"name": "geometry_circle_area", "arguments": [7]}]
    )
    assert args["error_type"] == "ast_decoder:decoder_wrong_output_format"
    called = judged("irrelevance_0", "prompt", response="[calculate_bmi(weight_kg=70, height_m=1.8)]")
    assert (called["correct"], called["error_type"]) == (False, "irrelevance_error:decoder_success")
    for line in ({"response": "I cannot help with that."}, {"response": "[]"}):
        assert judged("irrelevance_0", "prompt", **line)["correct"]
    broken = {"id": "c", "type": "function", "function": {"name": "calculate_bmi", "arguments": "{oops"}}
    assert judged("irrelevance_0", "native", tool_calls=[broken])["correct"]  # BFCL: undecodable = no call
    failed = SampleOutput(
        "multiple_0",
        [Completion("multiple_0", RequestKind.CHAT, error=RequestError(ErrorKind.TIMEOUT, "slow"))],
    )
    lost = verdict(samples["multiple_0"], failed, "native")
    assert (lost["correct"], lost["parsed"], lost["error"]) == (False, None, "timeout: slow")


def test_summary_follows_bfcl_v4_and_success_rate_leaves_irrelevance_out() -> None:
    def v(category: str, correct: bool, formed: bool = True) -> dict[str, Any]:
        return {
            "category": category,
            "correct": correct,
            "well_formed": formed,
            "error_type": None if correct else "x",
        }

    verdicts = [
        v("simple_python", True),
        v("simple_python", False),
        v("simple_java", True),
        v("multiple", False, formed=False),
        v("parallel", True),
        v("irrelevance", False, formed=False),
        v("irrelevance", True, formed=False),
    ]
    metrics = bfcl_metrics(verdicts)
    assert metrics["accuracy_by_category"] == {
        "simple_python": 0.5,
        "simple_java": 1.0,
        "multiple": 0.0,
        "parallel": 1.0,
        "irrelevance": 0.5,
    }
    assert metrics["simple_ast_accuracy"] == 0.75  # mean(0.5, 1.0): simple_javascript is missing
    assert (
        metrics["bfcl_non_live_summary"] == metrics["ast_accuracy"] == pytest.approx((0.75 + 0.0 + 1.0) / 3)
    )
    assert metrics["bfcl_summary_missing"] == ["simple_javascript", "parallel_multiple"]
    assert metrics["accuracy"] == 4 / 7
    assert metrics["irrelevance_accuracy"] == 0.5
    assert metrics["function_calling_success_rate"] == 4 / 5
    assert metrics["error_types"] == {"x": 3}


def test_offline_scoring_reads_both_tool_call_shapes_and_infers_the_mode(tmp_path: Path) -> None:
    lines = [
        {
            "id": "simple_python_0",
            "tool_calls": [
                {
                    "id": "a",
                    "type": "function",
                    "function": {"name": "geometry_circle_area", "arguments": '{"radius": 7}'},
                }
            ],
        },
        {
            "id": "multiple_0",
            "tool_calls": [{"name": "weather_get_forecast", "arguments": {"city": "Lisbon", "days": 3}}],
        },
        {
            "id": "parallel_0",
            "tool_calls": [
                {"name": "stock_get_price", "arguments": '{"symbol": "MSFT"}'},
                {"name": "stock_get_price", "arguments": {"symbol": "AAPL"}},
            ],
        },
        {
            "id": "multiple_1",
            "tool_calls": [
                {
                    "id": "b",
                    "type": "function",
                    "function": {"name": "nutrition_lookup", "arguments": "{broken"},
                }
            ],
        },
        {"id": "irrelevance_1", "response": "Around 70 degrees Celsius."},
        {  # evalclient's own shape, as its predictions files store a call
            "id": "parallel_1",
            "tool_calls": [
                {
                    "id": None,
                    "name": "set_timer",
                    "arguments": {"minutes": 10, "label": "pasta"},
                    "arguments_text": '{"minutes": 10, "label": "pasta"}',
                    "source": "api",
                    "parse_error": None,
                },
                {
                    "id": None,
                    "name": "set_timer",
                    "arguments": {"minutes": 25, "label": "Bread"},
                    "arguments_text": '{"minutes": 25, "label": "Bread"}',
                    "source": "text",
                    "parse_error": None,
                },
            ],
        },
    ]
    predictions = tmp_path / "answers.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = asyncio.run(score_predictions("bfcl", predictions, DEMO))
    assert result.metrics["mode"] == "native"
    assert {k: v["correct"] for k, v in result.per_sample.items()} == {
        "simple_python_0": True,
        "multiple_0": True,
        "multiple_1": False,
        "parallel_0": True,
        "parallel_1": True,
        "irrelevance_1": True,
    }
    assert result.per_sample["multiple_1"]["error_type"] == "ast_decoder:decoder_failed"
    prompt_lines = [{"id": "simple_python_0", "response": "[geometry.circle_area(radius=7)]"}]
    predictions.write_text(json.dumps(prompt_lines[0]) + "\n")
    result = asyncio.run(score_predictions("bfcl", predictions, DEMO))
    assert (result.metrics["mode"], result.metrics["accuracy"]) == ("prompt", 1.0)
    result = asyncio.run(score_predictions("bfcl:native", predictions, DEMO))
    assert (result.metrics["mode"], result.metrics["accuracy"]) == ("native", 0.0)
