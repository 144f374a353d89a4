"""toolllama: ToolBench steps given the gold history, read back and scored without a judge."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from recording_model import RecordingModel

from evalclient.client import ChatRequest, Completion, RequestKind
from evalclient.client.completion import ToolCall
from evalclient.errors import DatasetError
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.function_calling import toolllama
from evalclient.tasks.function_calling.toolllama_steps import Step, check_rows, key_f1, parse_step, split_row

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "toolllama.jsonl"
SEARCH = "search_flights_for_skyscanner"
WEATHER = "get_current_weather_for_weatherapi"


def _samples() -> list[Sample]:
    return DatasetManager(data_files={"toolllama": FIXTURE}).get_evaluation_samples("toolllama", None)


def _step(action: str, arguments: dict[str, Any] | str, thought: str = "ok") -> str:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return f"Thought: {thought}\nAction: {action}\nAction Input: {text}"


def test_the_hub_source_is_the_conversation_format_mirror() -> None:
    task = get_task("toolllama")
    source = task.source
    assert (source.path, source.config, source.split) == (
        "tuandunghcmut/toolbench-v1",
        "default",
        "validation",
    )
    assert task.required_fields == ("id", "conversations")
    assert toolllama.__doc__ is not None
    assert "not ToolEval's pass rate or win rate" in " ".join(toolllama.__doc__.split())


@pytest.mark.parametrize(
    ("text", "step"),
    [
        (
            '\nThought: search first\nAction: search_x\nAction Input: {\n  "q": "a"\n}',
            Step("search_x", '{\n  "q": "a"\n}', {"q": "a"}, "search first"),
        ),
        ("Thought:\nAction:Finish\nAction Input:{}", Step("Finish", "{}", {}, "")),
        ("Action: get_y\nAction Input: {'q': 1} and more", Step("get_y", "{'q': 1} and more", None, "")),
        (
            'Action: get_y\nAction Input: I think {"q": 1} fits',
            Step("get_y", 'I think {"q": 1} fits', {"q": 1}),
        ),
        ("I would search the flights.", None),
        ("Action: \nAction Input: {}", None),
    ],
)
def test_steps_are_read_with_toolbench_markers(text: str, step: Step | None) -> None:
    assert parse_step(text) == step


def _finish(action: str, arguments: dict[str, Any]) -> Step:
    text = json.dumps(arguments)
    return Step(action, text, arguments)


def test_finish_gives_an_answer_with_give_answer_and_a_final_answer() -> None:
    assert _finish("Finish", {"return_type": "give_answer", "final_answer": "It is 24 C."}).gives_answer
    # ToolBench's runner accepts any final_answer key, even empty (test_reference_toolllama.py)
    assert _finish("Finish", {"return_type": "give_answer", "final_answer": ""}).gives_answer
    assert not _finish("Finish", {"return_type": "give_answer"}).gives_answer
    assert not _finish("Finish", {"return_type": "give_up_and_restart"}).gives_answer
    assert not _finish("other", {"return_type": "give_answer", "final_answer": "x"}).gives_answer
    substring = '{"return_type": "give_answer", "final_answer": "unclosed'  # ToolBench's fallback
    assert Step("Finish", substring, None).gives_answer


def test_rows_split_into_history_and_gold_step() -> None:
    row = _samples()[1].row
    history, gold = split_row(row)
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]
    assert history[3]["content"].startswith('Function: {"error": "", "response"')
    assert parse_step(gold) == Step(
        WEATHER, '{\n  "city": "Rome"\n}', {"city": "Rome"}, "Now the weather in Rome."
    )
    with pytest.raises(DatasetError, match="toolllama row x: no assistant step after the history"):
        check_rows([{"id": "x", "conversations": [{"from": "user", "value": "hi"}]}])
    bad = {
        "id": "y",
        "conversations": [{"from": "user", "value": "hi"}, {"from": "assistant", "value": "Hello!"}],
    }
    with pytest.raises(DatasetError, match="toolllama row y: the last assistant turn names no Action"):
        check_rows([bad])
    with pytest.raises(DatasetError, match="must be a list of"):
        check_rows([{"id": "z", "conversations": [{"from": "robot", "value": "beep"}]}])


def test_the_solver_sends_the_gold_history() -> None:
    sample = _samples()[2]
    model = RecordingModel()
    task = get_task("toolllama")
    assert task.solver is not None
    asyncio.run(task.solver(sample, model))
    [request] = model.requests
    assert isinstance(request, ChatRequest)
    assert request.tools == ()
    assert [m["role"] for m in request.messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert request.messages[-1]["content"].startswith("Function: ")
    assert request.sampling.max_tokens == 512


@pytest.mark.parametrize(
    ("predicted", "gold", "f1"), [([], [], 1.0), (["a"], [], 0.0), (["a", "b"], ["b", "c"], 0.5)]
)
def test_key_f1(predicted: list[str], gold: list[str], f1: float) -> None:
    assert key_f1(predicted, gold) == f1


def test_step_metrics() -> None:
    samples = _samples()
    answers = {
        samples[0].id: _step(SEARCH, {"origin": "OSL", "destination": "FCO", "date": "2024-06-01"}),  # exact
        samples[1].id: _step(WEATHER, {"city": "Rome", "units": "metric"}),  # right API, one key too many
        samples[2].id: _step(
            "Finish", {"return_type": "give_answer", "final_answer": "SK4711; 24 C in Rome."}
        ),
        samples[3].id: _step(SEARCH, {"origin": "BER"}),  # should have given up
    }
    outputs = {
        sid: SampleOutput(sid, [Completion(sid, RequestKind.CHAT, text=text, finish_reason="stop")])
        for sid, text in answers.items()
    }
    task = get_task("toolllama")
    assert task.scorer is not None
    result = asyncio.run(task.scorer(samples, outputs, ScoreContext()))
    metrics = result.metrics
    assert metrics["api_name_accuracy"] == metrics["reasoning_step_accuracy"] == 0.75
    assert metrics["argument_key_f1"] == pytest.approx((1.0 + 2 / 3 + 1.0 + 0.0) / 4)
    assert metrics["argument_exact_match"] == metrics["accuracy"] == 0.5
    assert (metrics["finish_give_answer_rate"], metrics["num_gold_finish_steps"]) == (1.0, 1)
    assert metrics["function_calling_success_rate"] == 1.0
    assert (
        metrics["note"]
        == "judge-free step metrics given the gold history; not ToolEval's ChatGPT-judged pass rate"
    )
    last = result.per_sample[samples[3].id]
    assert (last["gold_action"], last["predicted_action"], last["api_name_correct"]) == (
        "Finish",
        SEARCH,
        False,
    )
    assert result.per_sample[samples[1].id]["argument_key_f1"] == pytest.approx(2 / 3)


def test_unparsed_answers_tool_calls_and_failures() -> None:
    samples = _samples()[:3]
    call = ToolCall(WEATHER, '{"city": "Rome"}', {"city": "Rome"}, source="text")
    outputs = {
        samples[0].id: SampleOutput(
            samples[0].id, [Completion(samples[0].id, RequestKind.CHAT, text="I will search flights.")]
        ),
        samples[1].id: SampleOutput(
            samples[1].id, [Completion(samples[1].id, RequestKind.CHAT, tool_calls=[call])]
        ),
    }
    task = get_task("toolllama")
    assert task.scorer is not None
    result = asyncio.run(task.scorer(samples, outputs, ScoreContext()))
    assert result.per_sample[samples[0].id]["parsed"] is False
    assert result.per_sample[samples[1].id]["argument_exact_match"] is True  # the tool call is the step
    assert result.per_sample[samples[2].id]["parsed"] is None  # no answer
    assert result.metrics["finish_give_answer_rate"] == 0.0
    assert (result.metrics["num_errors"], result.metrics["num_failed_parse"]) == (1, 1)
    assert result.metrics["function_calling_success_rate"] == pytest.approx(1 / 3)
