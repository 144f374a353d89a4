"""ARC-Challenge: prompt with the dataset's labels, the general choice parser, and scoring counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_model import RecordingModel

from evalclient.client import ChatRequest, Completion, RequestKind
from evalclient.errors import DatasetError
from evalclient.tasks import get_task
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.choice_parser import parse_choice
from evalclient.tasks.loading import load_task_rows, select_samples
from evalclient.tasks.multiple_choice import score_now

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
        (" b ", None),  # labels are case-sensitive
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


async def _prompt(sample: Sample) -> str:
    task = get_task("arc_challenge")
    model = RecordingModel("B")
    assert task.solver is not None
    await task.solver(sample, model)
    [request] = model.requests
    assert isinstance(request, ChatRequest)
    assert request.sampling.max_tokens == 32
    return str(request.messages[0]["content"])


async def test_request_lists_choices_with_the_dataset_labels() -> None:
    by_id = {sample.id: sample for sample in _demo_samples()}
    content = await _prompt(by_id["Demo-ARC-001"])
    assert "A. respiration\nB. photosynthesis\nC. digestion\nD. evaporation" in content
    assert "(A, B, C or D)" in content
    numeric = await _prompt(by_id["Demo-ARC-004"])
    assert "\n3. Different amounts of the sunlit half" in numeric
    assert "(1, 2, 3 or 4)" in numeric
    assert "(A, B, C, D or E)" in await _prompt(by_id["Demo-ARC-010"])


async def test_malformed_choices_are_a_dataset_error() -> None:
    sample = Sample(id="x", row={"id": "x", "question": "?", "choices": {"text": ["a"], "label": ["A", "B"]}})
    with pytest.raises(DatasetError, match="choices"):
        await _prompt(sample)


def _output(sample_id: str, text: str) -> SampleOutput:
    return SampleOutput(sample_id, [Completion(sample_id, RequestKind.CHAT, text=text, finish_reason="stop")])


def test_scoring_counts_every_case() -> None:
    samples = _demo_samples()[:5]  # answer keys: B, A, C, 3, B
    outputs = {
        "Demo-ARC-001": _output("Demo-ARC-001", "The answer is B."),
        "Demo-ARC-002": _output("Demo-ARC-002", "B"),  # wrong
        "Demo-ARC-003": _output("Demo-ARC-003", "I do not know."),  # failed parse
        "Demo-ARC-004": _output("Demo-ARC-004", "(3)"),
        # Demo-ARC-005 has no answer (it never ran)
    }
    result = score_now(samples, outputs)
    assert result.metrics == {
        "accuracy": 2 / 5,
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
    assert result.per_sample["Demo-ARC-004"] == {
        "predicted": "3",
        "reference": "3",
        "correct": True,
        "parsed": True,
    }
    assert result.per_sample["Demo-ARC-005"] == {
        "predicted": None,
        "reference": "B",
        "correct": False,
        "parsed": None,
    }
