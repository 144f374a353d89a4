"""GSM8K: prompt, lm-eval's strict/flexible filters and exact_match, scoring counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_model import RecordingModel

from evalclient.client import ChatRequest, Completion, ErrorKind, RequestError, RequestKind
from evalclient.errors import DatasetError
from evalclient.tasks import get_task
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.loading import load_task_rows, select_samples
from evalclient.tasks.math import extract_flexible, extract_strict, gsm8k_match, reference_solution, score_now

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REFERENCE_18 = "She has 9 * 2 = <<9*2=18>>18 marbles.\n#### 18"


@pytest.mark.parametrize(
    ("response", "strict"),
    [
        ("3 * 4 = 12\n#### 12", "12"),
        ("Total: 1,234 apples.\n#### 1,234.", "1,234."),
        ("#### 5\nlater #### 6", "5"),  # lm-eval takes the first match
        ("#### -7", "-7"),
        ("#### 72.0", "72.0"),
        ("The answer is 12.", "[invalid]"),
        ("####12", "[invalid]"),  # the regex wants "#### " with a space
        ("#### $5", "[invalid]"),  # ... and digits right after it
    ],
)
def test_strict_match_is_lm_evals_filter(response: str, strict: str) -> None:
    assert extract_strict(response) == strict


@pytest.mark.parametrize(
    ("response", "flexible"),
    [
        ("3 * 4 = 12\n#### 12", "12"),
        ("First 3 apples, then 5 more, so 8 in all.", "8"),
        ("She pays $1,234.50 in total.", "$1,234.50"),
        ("The answer is 72.0", "72.0"),
        ("It costs $18.", "$18."),
        ("Hmm, 42 ... let me think...", "..."),  # lm-eval's pattern takes "..." too
        ("-15 degrees", "-15"),
        ("no digits at all", "[invalid]"),
        ("", "[invalid]"),
    ],
)
def test_flexible_extract_is_lm_evals_filter(response: str, flexible: str) -> None:
    assert extract_flexible(response) == flexible


@pytest.mark.parametrize(
    ("prediction", "hit"),
    [
        ("18", True),
        ("$18.", True),  # "$" and one trailing "." are ignored
        ("1,8", True),  # commas are ignored anywhere
        ("18.00", False),  # lm-eval compares strings: 18.00 is not 18
        ("18.0", False),
        ("18..", False),  # only one trailing period goes
        ("[invalid]", False),
    ],
)
def test_exact_match_normalisation(prediction: str, hit: bool) -> None:
    assert gsm8k_match(prediction, REFERENCE_18) is hit


def test_reference_must_have_the_hash_line() -> None:
    assert reference_solution({"answer": REFERENCE_18}) == REFERENCE_18
    with pytest.raises(DatasetError, match="no '#### <number>' line"):
        reference_solution({"answer": "4"})


def _demo_samples() -> list[Sample]:
    task = get_task("gsm8k")
    return select_samples(task, load_task_rows(task, FIXTURES / "gsm8k.jsonl"), 100, 0)


async def test_solver_asks_for_steps_and_a_hash_line_with_explicit_sampling() -> None:
    task = get_task("gsm8k")
    sample = _demo_samples()[0]
    model = RecordingModel("#### 21")
    assert task.solver is not None
    [completion] = await task.solver(sample, model)
    [request] = model.requests
    assert isinstance(request, ChatRequest)
    assert (request.id, completion.text) == ("0", "#### 21")
    assert (request.sampling.max_tokens, request.sampling.temperature, request.sampling.top_p) == (
        512,
        0.0,
        1.0,
    )
    assert request.sampling.seed == 1234
    (message,) = request.messages
    assert message["role"] == "user"
    assert "#### <number>" in message["content"]
    assert str(sample.row["question"]) in message["content"]


def _output(sample_id: str, text: str, finish: str = "stop") -> SampleOutput:
    return SampleOutput(sample_id, [Completion(sample_id, RequestKind.CHAT, text=text, finish_reason=finish)])


def test_scoring_counts_every_case() -> None:
    samples = _demo_samples()[:7]  # references: 21, 37, 140, 25, 23, 10, ...
    outputs = {
        "0": _output("0", "3 * 12 = 36; 36 - 15 = 21\n#### 21"),  # right, strict and flexible
        "1": _output("1", "She spends 32 + 5 = 37 dollars in total."),  # right, no #### line
        "2": _output("2", "#### 140\nActually it is 280."),  # strict right, flexible takes the last number
        "3": _output("3", "I cannot tell."),  # no number: failed parse
        "4": _output("4", "#### 23.00", finish="length"),  # "23.00" is not "23" for lm-eval; cut by length
        "5": SampleOutput(
            "5", [Completion("5", RequestKind.CHAT, error=RequestError(ErrorKind.TIMEOUT, "t"))]
        ),
        "6": _output("6", "<think>#### 5</think>"),  # reasoning only: an empty answer
    }
    result = score_now(samples, outputs)
    assert result.metrics == {
        "accuracy": 2 / 7,
        "exact_match_strict": 2 / 7,
        "exact_match_flexible": 2 / 7,
        "exact_match_numeric": 3 / 7,
        "num_samples": 7,
        "num_errors": 1,
        "num_truncated": 1,
        "num_empty": 1,
        "num_failed_parse": 1,
        "error_rate": 1 / 7,
        "truncated_rate": 1 / 7,
        "empty_answer_rate": 1 / 7,
        "unparseable_rate": 1 / 7,
    }
    assert result.per_sample["1"] == {
        "strict": "[invalid]",
        "flexible": "37",
        "reference": "37",
        "exact_match_strict": False,
        "exact_match_flexible": True,
        "exact_match_numeric": True,
        "correct": True,
        "parsed": True,
    }
    assert result.per_sample["2"]["exact_match_strict"] is True
    assert result.per_sample["2"]["correct"] is False
    assert result.per_sample["4"]["exact_match_numeric"] is True
    assert result.per_sample["5"]["parsed"] is False


def test_scoring_no_samples() -> None:
    metrics = score_now([], {}).metrics
    assert metrics["accuracy"] is None
    assert metrics["num_samples"] == 0
