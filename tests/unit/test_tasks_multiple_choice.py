"""Multiple choice in both modes, on ARC-Challenge: prompts, the parser, acc, acc_norm and accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_model import RecordingModel

from evalclient.client import (
    ChatRequest,
    Completion,
    ErrorKind,
    LoglikelihoodRequest,
    RequestError,
    RequestKind,
)
from evalclient.errors import DatasetError
from evalclient.tasks import get_task
from evalclient.tasks.base import Sample, SampleOutput, TaskOptions, TaskSpec
from evalclient.tasks.choice_parser import parse_choice
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.loading import load_task_rows, select_samples
from evalclient.tasks.multiple_choice import argmax, probability_mass

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LETTERS = ["A", "B", "C", "D"]
DIGITS = ["1", "2", "3", "4"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("B", "B"),
        ("(B)", "B"),
        ("B.", "B"),
        ("**B**", "B"),
        (" b ", "B"),  # the whole answer is a label, in either case
        ("The answer is B", "B"),
        ("The best answer is D.", "D"),
        ("The correct answer is (C).", "C"),
        ("Answer: B) photosynthesis", "B"),
        ("answer: [A]", "A"),
        ("Answer: B. Option C is wrong because ...", "B"),
        ("Option A is wrong. The answer is C.", "C"),
        ("B) Photosynthesis", "B"),
        ("C: hardness", "C"),
        ("I think (B) is right.", "B"),
        ("A plant makes food from light.", None),  # the article is no choice
        ("Either A or B.", None),  # ambiguous
        ("I am not sure.", None),
        ("", None),
        ("<think>Maybe A.</think>\nD", "D"),
        ("E", None),  # not one of the labels
    ],
)
def test_parse_letter_labels(text: str, label: str | None) -> None:
    assert parse_choice(text, LETTERS) == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("3", "3"),
        ("(2)", "2"),
        ("The answer is 4.", "4"),
        ("Answer: 1. The shadow of Earth", "1"),
        ("C", None),  # a letter is no numeric label
        ("12", None),
    ],
)
def test_parse_numeric_labels(text: str, label: str | None) -> None:
    assert parse_choice(text, DIGITS) == label


PLANTS = ["respiration", "photosynthesis", "digestion", "evaporation"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # a lower-case label after an answer cue (simple-evals' (?i)Answer[ \t]*:[ \t]*([A-D]))
        ("Answer: b", "B"),
        ("answer: c.", "C"),
        ("The answer is d", "D"),
        ("The correct option is (a).", "A"),
        ("Final answer: $\\boxed{c}$", "C"),
        ("**Answer:** b", "B"),
        ("the answer is a plant", None),  # the article, and no choice's text
        # the exact text of exactly one choice
        ("Photosynthesis", "B"),
        ("photosynthesis.", "B"),
        ("The answer is photosynthesis.", "B"),
        ("So it must be digestion.", "C"),
        ("I'd go with evaporation", "D"),
        # a final conclusion after discarded options
        ("A is wrong because plants do not eat. C is about animals. So it must be B.", "B"),
        ("Not A, and D is not a process of plants; therefore C.", "C"),
        ("Respiration releases energy, so A is wrong; it has to be B", "B"),
        ("At first the answer seemed to be A, but on reflection the answer is D.", "D"),
        ("The answer is A or B.", None),  # two choices named, no decision
        ("The answer is A. Actually, the answer is C or D.", None),  # the last word decides nothing
        ("It could be A or B.", None),
        ("Either respiration or photosynthesis.", None),
        ("A or B", None),
        ("B and C both look right.", None),
        ("so A is wrong", None),  # a label discarded, nothing chosen
        ("(b) photosynthesis", "B"),
        ("Thus, (B).", "B"),
        ("Therefore the answer must be C", "C"),
    ],
)
def test_parse_as_a_careful_reader(text: str, label: str | None) -> None:
    assert parse_choice(text, LETTERS, PLANTS) == label


def test_parse_five_labels_and_choice_text() -> None:
    labels = ["A", "B", "C", "D", "E"]
    texts = [
        "elastic potential energy",
        "sound energy",
        "chemical energy",
        "nuclear energy",
        "thermal energy",
    ]
    assert parse_choice("E", labels) == "E"
    assert parse_choice("Thermal energy.", labels, texts) == "E"
    assert parse_choice("energy", labels, texts) is None


def _demo_samples() -> list[Sample]:
    task = get_task("arc_challenge")
    return select_samples(task, load_task_rows(task, FIXTURES / "arc_challenge.jsonl"), 100, 0)


def _arc(mode: str) -> TaskSpec:
    return get_task("arc_challenge").with_options(TaskOptions(mode=mode))


async def _requests(task: TaskSpec, sample: Sample) -> list[object]:
    model = RecordingModel("B")
    assert task.solver is not None
    await task.solver(sample, model)
    return list(model.requests)


async def _prompt(sample: Sample) -> str:
    [request] = await _requests(_arc("generative"), sample)
    assert isinstance(request, ChatRequest)
    assert request.sampling.max_tokens == 32
    return str(request.messages[0]["content"])


async def test_generative_prompt_lists_choices_with_the_dataset_labels() -> None:
    by_id = {sample.id: sample for sample in _demo_samples()}
    content = await _prompt(by_id["Demo-ARC-001"])
    assert content == (
        "Answer the following multiple-choice science question.\n\n"
        "Question: Which process do green plants use to make their own food from sunlight, water, and carbon "
        "dioxide?\nA. respiration\nB. photosynthesis\nC. digestion\nD. evaporation\n\n"
        "Reply with the label of the correct choice only (A, B, C or D)."
    )
    numeric = await _prompt(by_id["Demo-ARC-004"])
    assert "\n3. Different amounts of the sunlit half" in numeric
    assert "(1, 2, 3 or 4)" in numeric
    assert "(A, B, C, D or E)" in await _prompt(by_id["Demo-ARC-010"])


async def test_loglikelihood_requests_are_lm_evals() -> None:
    by_id = {sample.id: sample for sample in _demo_samples()}
    requests = await _requests(_arc("loglikelihood"), by_id["Demo-ARC-004"])
    assert all(isinstance(r, LoglikelihoodRequest) for r in requests)
    question = by_id["Demo-ARC-004"].row["question"]
    assert {r.context for r in requests} == {f"Question: {question}\nAnswer:"}  # type: ignore[attr-defined]
    texts = by_id["Demo-ARC-004"].row["choices"]["text"]
    assert [r.continuation for r in requests] == [" " + t for t in texts]  # type: ignore[attr-defined]
    assert get_task("arc_challenge").mode == "loglikelihood"  # the default where the engine serves it


async def test_malformed_choices_are_a_dataset_error() -> None:
    sample = Sample(id="x", row={"id": "x", "question": "?", "choices": {"text": ["a"], "label": ["A", "B"]}})
    with pytest.raises(DatasetError, match="choices"):
        await _prompt(sample)


def _answer(sample_id: str, text: str) -> SampleOutput:
    return SampleOutput(sample_id, [Completion(sample_id, RequestKind.CHAT, text=text, finish_reason="stop")])


async def _score(
    task: TaskSpec, samples: list[Sample], outputs: dict[str, SampleOutput]
) -> tuple[dict, dict]:  # type: ignore[type-arg]
    assert task.scorer is not None
    result = await task.scorer(samples, outputs, ScoreContext())
    return result.metrics, result.per_sample


async def test_generative_scoring_counts_every_case() -> None:
    samples = _demo_samples()[:5]  # answer keys: B, A, C, 3, B
    outputs = {
        "Demo-ARC-001": _answer("Demo-ARC-001", "The answer is B."),
        "Demo-ARC-002": _answer("Demo-ARC-002", "B"),  # wrong
        "Demo-ARC-003": _answer("Demo-ARC-003", "I do not know."),  # failed parse
        "Demo-ARC-004": _answer("Demo-ARC-004", "(3)"),
        # Demo-ARC-005 has no answer (it never ran)
    }
    metrics, verdicts = await _score(_arc("generative"), samples, outputs)
    assert metrics == {
        "accuracy": 2 / 5,
        "mode": "generative",
        "num_samples": 5,
        "num_errors": 1,
        "num_truncated": 0,
        "num_empty": 0,
        "num_failed_parse": 1,
        "error_rate": 1 / 5,
        "truncated_rate": 0.0,
        "empty_answer_rate": 0.0,
        "unparseable_rate": 1 / 5,
    }
    assert verdicts["Demo-ARC-004"] == {"predicted": "3", "reference": "3", "correct": True, "parsed": True}
    assert verdicts["Demo-ARC-005"] == {"predicted": None, "reference": "B", "correct": False, "parsed": None}


def _lls(sample: Sample, values: list[float]) -> SampleOutput:
    completions = [
        Completion(f"{sample.id}#{i}", RequestKind.LOGLIKELIHOOD, loglikelihood=v, continuation_tokens=2)
        for i, v in enumerate(values)
    ]
    return SampleOutput(sample.id, completions)


async def test_acc_and_acc_norm_as_lm_eval_defines_them() -> None:
    samples = _demo_samples()[:3]
    # Demo-ARC-001, gold B, choices of 11, 14, 9 and 11 characters: B has the highest ll (-5.0) and the
    # highest per character (-5.0 / 14 = -0.357): acc and acc_norm right.
    # Demo-ARC-002, gold A, choices of 10, 10, 9 and 12 characters: C has the highest ll (-2.95): acc wrong;
    # per character A and B tie at -0.3 above C's -0.328, and the first of equals is A: acc_norm right.
    # Demo-ARC-003 failed: wrong in both.
    assert [len(t) for t in samples[0].row["choices"]["text"]] == [11, 14, 9, 11]
    assert [len(t) for t in samples[1].row["choices"]["text"]] == [10, 10, 9, 12]
    outputs = {
        "Demo-ARC-001": _lls(samples[0], [-6.0, -5.0, -5.5, -9.0]),
        "Demo-ARC-002": _lls(samples[1], [-3.0, -3.0, -2.95, -8.0]),
        "Demo-ARC-003": SampleOutput("Demo-ARC-003", [], RequestError(ErrorKind.TIMEOUT, "t")),
    }
    metrics, verdicts = await _score(_arc("loglikelihood"), samples, outputs)
    assert verdicts["Demo-ARC-001"]["predicted"] == 1
    assert verdicts["Demo-ARC-001"]["predicted_norm"] == 1
    assert (verdicts["Demo-ARC-002"]["predicted"], verdicts["Demo-ARC-002"]["predicted_norm"]) == (2, 0)
    assert verdicts["Demo-ARC-003"] == {
        "gold": 2,
        "predicted": None,
        "correct": False,
        "correct_norm": False,
        "parsed": None,
    }
    assert (metrics["acc"], metrics["acc_norm"], metrics["accuracy"], metrics["mode"]) == (
        1 / 3,
        2 / 3,
        1 / 3,
        "loglikelihood",
    )
    assert (metrics["num_errors"], metrics["num_failed_parse"], metrics["truncated_rate"]) == (1, None, None)


def test_argmax_takes_the_first_of_equals_and_mc2_normalises() -> None:
    assert argmax([-1.0, -0.5, -0.5]) == 1
    # probabilities e^-1, e^-2, e^-3 normalised; true: the first and the third
    import math

    total = math.exp(-1) + math.exp(-2) + math.exp(-3)
    assert probability_mass([-1.0, -2.0, -3.0], [1, 0, 1]) == pytest.approx(
        (math.exp(-1) + math.exp(-3)) / total
    )
    assert probability_mass([-1000.0, -1000.0], [1, 0]) == pytest.approx(0.5)  # no underflow
