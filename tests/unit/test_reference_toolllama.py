"""toolllama against ToolBench's own code, read at OpenBMB/ToolBench commit
d56fdd89faf8c91fa135090b212bb9057ee5cfc2 (the repository has no release tags):

- toolbench/tooleval/eval_pass_rate.py: ToolBench's evaluation is ToolEval's pass rate, a ChatGPT evaluator's
  labels over whole trajectories run against live tools; it defines no step metric, so toolllama's metrics
  carry names of their own (checked below) and its docstring says what they are instead;
- toolbench/inference/utils.py `react_parser`: how ToolLLaMA's answer is cut into thought, action and
  action input (after toolbench/inference/LLM/tool_llama_model.py strips the whole answer);
- toolbench/inference/Downstream_tasks/rapidapi.py `_step`: when a Finish call is a final answer (status 3)
  and how a non-JSON Finish input is read; and that any other action calls the first function whose name
  ends with it.

These rules are restated below in this file's own code (ToolBench is never imported) and compared with
toolllama's on crafted steps; where toolllama reads a step differently the test names the difference.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from evalclient.client import Completion, RequestKind
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.function_calling import toolllama
from evalclient.tasks.function_calling.toolllama_steps import finish_fields, parse_step

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "toolllama.jsonl"
TOOLEVAL_METRICS = {"pass_rate", "win_rate", "preference", "is_solved", "task_solvable", "not_hallucinate"}
"""The names ToolBench's tooleval gives its results (eval_pass_rate.py, eval_preference.py)."""


def react_parser(answer: str) -> tuple[str, str, str]:
    """react_parser at d56fdd8, restated: each part is the slice between `str.find` positions of the markers
    "Thought: " .. "\\nAction: ", "Action: " .. "\\nAction Input: ", "Action Input: " .. the end (find gives
    -1 for a missing marker, and the slice is taken all the same). The answer is stripped first, as
    ToolLLaMA.prediction strips the model output."""
    text = answer.strip()

    def after(marker: str) -> int:
        return text.find(marker) + len(marker)

    thought = text[after("Thought: ") : text.find("\nAction: ")]
    action = text[after("Action: ") : text.find("\nAction Input: ")]
    return thought, action, text[after("Action Input: ") :]


def finish_status(action_input: str) -> int:
    """rapidapi.py `_step` at d56fdd8 for action "Finish", restated: the status it returns (3: a final
    answer, 4: gives up, 2: an input error). The input is `json.loads(strict=False)`; when that fails, the
    fallback looks for `"return_type": "` (then `..."give_answer"`, `..."give_up_and_restart"`, else the text
    up to the first `",`) and for `"final_answer": "`. JSON that is not an object raises (`.keys()`)."""
    try:
        data = json.loads(action_input, strict=False)
    except Exception:
        data = {}
        if '"return_type": "' in action_input:
            if '"return_type": "give_answer"' in action_input:
                data["return_type"] = "give_answer"
            elif '"return_type": "give_up_and_restart"' in action_input:
                data["return_type"] = "give_up_and_restart"
            else:
                begin = action_input.find('"return_type": "') + len('"return_type": "')
                data["return_type"] = action_input[begin : action_input.find('",')]
        if '"final_answer": "' in action_input:
            begin = action_input.find('"final_answer": "') + len('"final_answer": "')
            data["final_answer"] = action_input[begin:]
    if "return_type" not in data.keys():  # noqa: SIM118 (`.keys()` raises for JSON that is no object)
        return 2
    if data["return_type"] == "give_up_and_restart":
        return 4
    if data["return_type"] == "give_answer":
        return 3 if "final_answer" in data.keys() else 2  # noqa: SIM118
    return 2


def dispatched(functions: list[str], action: str) -> str | None:
    """rapidapi.py `_step` at d56fdd8 for any other action: the first function whose name ends with it."""
    return next((name for name in functions if name.endswith(action)), None)


WELL_FORMED = [
    # as preprocess/preprocess_toolllama_data.py writes ToolLLaMA's gold steps
    '\nThought: search first\nAction: search_flights_for_skyscanner\nAction Input: {\n  "origin": "OSL"\n}',
    "\nThought: \nAction: get_current_weather_for_weatherapi\nAction Input: {}",
    # as a model writes them
    'Thought: I have it.\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "x"}',
    'Thought: a first line\nand a second\nAction: f_for_g\nAction Input: {"q": 1}\nObservation: more',
    "Thought: t\nAction: f_for_g\nAction Input: not json at all  ",
    "  Thought: padded\nAction: f_for_g\nAction Input: {}\n\n",
]


@pytest.mark.parametrize("answer", WELL_FORMED)
def test_steps_written_with_toolbenchs_markers_read_the_same(answer: str) -> None:
    """react_parser (toolbench/inference/utils.py, d56fdd8) and parse_step agree on the action, the action
    input (parse_step strips it) and the thought of every step written with "Thought: ", "\\nAction: " and
    "\\nAction Input: "."""
    thought, action, action_input = react_parser(answer)
    step = parse_step(answer)
    assert step is not None
    assert (step.thought, step.action, step.action_input) == (thought, action, action_input.strip())


@pytest.mark.parametrize(
    ("answer", "toolbench", "ours"),
    [
        # no space after the colons: react_parser's markers are not found and it slices the wrong text
        (
            "Action:f_for_g\nAction Input:{}",
            ("_for_g\nAction Input:{", "f_for_g\nAction Input:{", "g\nAction Input:{}"),
            ("f_for_g", "{}"),
        ),
        # a space before the newline: ToolBench keeps it in the name (and its runner calls f_for_g by suffix)
        ("Thought: t\nAction: f_for_g \nAction Input: {}", ("t", "f_for_g ", "{}"), ("f_for_g", "{}")),
        # no action at all: react_parser still returns slices; parse_step returns None (a wrong answer)
        (
            "I would search the flights.",
            ("search the flights", " search the flights", "h the flights."),
            None,
        ),
    ],
)
def test_the_named_reading_differences(
    answer: str, toolbench: tuple[str, str, str], ours: tuple[str, str] | None
) -> None:
    """Where parse_step is more lenient than react_parser (d56fdd8), as toolllama_steps.py says; the values on
    both sides are worked out by hand from each rule."""
    assert react_parser(answer) == toolbench
    step = parse_step(answer)
    assert (None if step is None else (step.action, step.action_input)) == ours


FINISH_INPUTS: list[tuple[str, int]] = [
    ('{"return_type": "give_answer", "final_answer": "It is 24 C."}', 3),
    ('{\n  "return_type": "give_answer",\n  "final_answer": "SK4711"\n}', 3),
    ('{"return_type": "give_answer", "final_answer": ""}', 3),  # any final_answer key, even empty
    ('{"return_type": "give_answer", "final_answer": 42}', 3),  # or not a string
    ('{"return_type": "give_answer", "final_answer": "two\nlines"}', 3),  # strict=False: raw newline
    ('{"return_type": "give_answer"}', 2),
    ('{"return_type": "give_up_and_restart"}', 4),
    ('{"return_type": "give_up_and_restart", "final_answer": "x"}', 4),
    ('{"final_answer": "x"}', 2),
    ('{"return_type": "answer", "final_answer": "x"}', 2),
    ('{"return_type": "give_answer", "final_answer": "unclosed', 3),  # the substring fallback
    ('{"return_type": "give_answer", "final_answer": "x", }', 3),  # not JSON: the fallback
    ('Here: {"return_type": "give_answer", "final_answer": "x"}', 3),
    ('{"return_type": "give_up_and_restart", "final_answer": "x', 4),
    ('{"return_type": "answer", "final_answer": "x', 2),  # the fallback's slice up to the first `",`
    ('{"return_type":"give_answer","final_answer":"x"} and more', 2),  # no space: the fallback finds nothing
    ("", 2),
]


@pytest.mark.parametrize(("action_input", "status"), FINISH_INPUTS)
def test_a_finish_gives_an_answer_exactly_when_toolbenchs_runner_says_so(
    action_input: str, status: int
) -> None:
    """rapidapi.py `_step` (d56fdd8): status 3, "successfully giving the final answer", is what
    Step.gives_answer (and so finish_give_answer_rate) counts; the expected status is worked out by hand."""
    assert finish_status(action_input) == status
    step = parse_step(f"Thought: done\nAction: Finish\nAction Input: {action_input}")
    assert step is not None
    assert step.gives_answer is (status == 3)


@pytest.mark.parametrize("action_input", ["[1, 2]", '"give_answer"', "3", "null"])
def test_a_finish_input_that_is_json_but_no_object_gives_no_answer(action_input: str) -> None:
    """rapidapi.py `_step` (d56fdd8) raises on these (`.keys()` of a list, str, int or None); toolllama
    counts no answer."""
    with pytest.raises(AttributeError):
        finish_status(action_input)
    assert finish_fields(action_input) is None
    step = parse_step(f"Action: Finish\nAction Input: {action_input}")
    assert step is not None
    assert not step.gives_answer


def _samples() -> list[Sample]:
    return DatasetManager(data_files={"toolllama": FIXTURE}).get_evaluation_samples("toolllama", None)


def _output(sample_id: str, text: str) -> SampleOutput:
    return SampleOutput(sample_id, [Completion(sample_id, RequestKind.CHAT, text=text, finish_reason="stop")])


def test_finish_give_answer_rate_is_the_share_toolbench_accepts() -> None:
    """The gold step of the fixture's third row is Finish with give_answer; answered with each crafted Finish
    input, finish_give_answer_rate is the share of inputs rapidapi.py `_step` (d56fdd8) answers status 3."""
    gold_finish = _samples()[2]
    assert toolllama.verdict(gold_finish.row, None)["gold_gives_answer"] is True
    samples = [Sample(f"finish{i}", gold_finish.row) for i in range(len(FINISH_INPUTS))]
    outputs = {
        s.id: _output(s.id, f"Thought: done\nAction: Finish\nAction Input: {text}")
        for s, (text, _) in zip(samples, FINISH_INPUTS, strict=True)
    }
    result = toolllama.score_now(samples, outputs)
    expected = sum(finish_status(text) == 3 for text, _ in FINISH_INPUTS) / len(FINISH_INPUTS)
    assert expected == 8 / 17
    assert result.metrics["finish_give_answer_rate"] == pytest.approx(expected)
    assert result.metrics["num_gold_finish_steps"] == len(FINISH_INPUTS)


def test_an_api_name_counts_only_when_equal_though_toolbench_dispatches_by_suffix() -> None:
    """rapidapi.py `_step` (d56fdd8) calls the first function whose name ends with the action written, so
    "weatherapi" would run get_current_weather_for_weatherapi there; api_name_accuracy, this suite's own
    metric, asks for the gold name itself."""
    sample = _samples()[1]
    functions = ["search_flights_for_skyscanner", "get_current_weather_for_weatherapi", "Finish"]
    assert dispatched(functions, "weatherapi") == "get_current_weather_for_weatherapi"
    answer = 'Thought: weather\nAction: weatherapi\nAction Input: {"city": "Rome"}'
    verdict = toolllama.verdict(sample.row, _output(sample.id, answer))
    assert (verdict["gold_action"], verdict["api_name_correct"]) == (
        "get_current_weather_for_weatherapi",
        False,
    )


def test_the_metrics_are_named_apart_from_toolevals() -> None:
    """eval_pass_rate.py / eval_preference.py (d56fdd8) report a pass rate and a win rate judged by ChatGPT;
    toolllama reports judge-free step metrics under other names and says so."""
    samples = _samples()
    outputs = {s.id: _output(s.id, "Action: Finish\nAction Input: {}") for s in samples}
    task = get_task("toolllama")
    assert task.scorer is not None
    metrics = asyncio.run(task.scorer(samples, outputs, ScoreContext())).metrics
    assert not TOOLEVAL_METRICS & set(metrics)
    assert {"api_name_accuracy", "argument_key_f1", "argument_exact_match", "finish_give_answer_rate"} <= set(
        metrics
    )
    assert "not ToolEval's ChatGPT-judged pass rate" in metrics["note"]
    doc = " ".join((toolllama.__doc__ or "").split())
    assert "d56fdd89faf8c91fa135090b212bb9057ee5cfc2" in doc
    assert "It defines no step-level metric" in doc
