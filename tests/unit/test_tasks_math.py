"""GSM8K: prompt, lm-eval strict/flexible extraction, normalisation, and scoring counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalclient.errors import DatasetError
from evalclient.tasks import get_task
from evalclient.tasks.base import Sample
from evalclient.tasks.loading import load_task_rows, select_samples
from evalclient.tasks.math import extract_flexible, extract_strict, normalize_number, reference_answer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("72", "72"),
        ("72.0", "72"),
        ("72.", "72"),
        ("$1,234", "1234"),
        ("0.50", "0.5"),
        ("-3", "-3"),
        ("-0.0", "0"),
        (" 18 ", "18"),
        ("1.2.3", "1.2.3"),
    ],
)
def test_normalize_number(raw: str, normal: str) -> None:
    assert normalize_number(raw) == normal


@pytest.mark.parametrize(
    ("response", "strict"),
    [
        ("3 * 4 = 12\n#### 12", "12"),
        ("Total: 1,234 apples.\n#### 1,234.", "1234"),
        ("#### 5\nlater #### 6", "5"),  # lm-eval takes the first match
        ("#### -7", "-7"),
        ("#### 72.0", "72"),
        ("The answer is 12.", None),
        ("####12", None),  # the reference regex wants "#### " with a space
        ("#### $5", None),  # ... and digits right after it
        ("<think>#### 9</think>\n#### 7", "7"),
    ],
)
def test_strict_match(response: str, strict: str | None) -> None:
    assert extract_strict(response) == strict


@pytest.mark.parametrize(
    ("response", "flexible"),
    [
        ("3 * 4 = 12\n#### 12", "12"),
        ("First 3 apples, then 5 more, so 8 in all.", "8"),
        ("She pays $1,234.50 in total.", "1234.5"),
        ("The answer is 72.0", "72"),
        ("It costs $18.", "18"),
        ("Hmm, 42 ... let me think...", "42"),  # "..." is no number
        ("-15 degrees", "-15"),
        ("no digits at all", None),
        ("", None),
    ],
)
def test_flexible_extract(response: str, flexible: str | None) -> None:
    assert extract_flexible(response) == flexible


def test_reference_is_the_text_after_the_hashes() -> None:
    assert reference_answer({"answer": "2 + 2 = <<2+2=4>>4\n#### 4"}) == "4"
    assert reference_answer({"answer": "a\n#### 1,000"}) == "1000"
    with pytest.raises(DatasetError, match="no '#### <number>' line"):
        reference_answer({"answer": "4"})


def _demo_samples() -> list[Sample]:
    task = get_task("gsm8k")
    return select_samples(task, load_task_rows(task, FIXTURES / "gsm8k.jsonl"), 100, 0)


def test_request_asks_for_steps_and_a_hash_line() -> None:
    task = get_task("gsm8k")
    sample = _demo_samples()[0]
    request = task.build_request(sample)
    assert request.id == "0"
    assert request.max_tokens == 512
    assert request.temperature == 0
    assert len(request.messages) == 1
    (message,) = request.messages
    assert message["role"] == "user"
    assert "#### <number>" in message["content"]
    assert "step by step" in message["content"]
    assert str(sample.row["question"]) in message["content"]


def test_scoring_counts_every_case() -> None:
    samples = _demo_samples()[:6]  # references: 21, 37, 140, 25, 23, 10
    responses = {
        "0": "3 * 12 = 36; 36 - 15 = 21\n#### 21",  # right, strict and flexible
        "1": "She spends 32 + 5 = 37 dollars in total.",  # right, no #### line
        "2": "#### 140\nActually it is 280.",  # strict right, flexible takes the last number
        "3": "I cannot tell.",  # no number: failed parse
        "4": "#### 23.0",  # "23.0" == "23"
        # "5" is missing: no response at all
    }
    result = get_task("gsm8k").score(samples, responses)
    assert result.metrics == {
        "accuracy": 3 / 6,
        "exact_match": 3 / 6,
        "num_samples": 6,
        "num_failed_parse": 1,
        "num_missing": 1,
    }
    assert result.per_sample["1"] == {
        "extracted": "37",
        "strict_extracted": None,
        "reference": "37",
        "correct": True,
        "strict_correct": False,
        "missing": False,
    }
    assert result.per_sample["2"]["strict_correct"] is True
    assert result.per_sample["2"]["correct"] is False
    assert result.per_sample["5"]["missing"] is True


def test_scoring_no_samples() -> None:
    metrics = get_task("gsm8k").score([], {}).metrics
    assert metrics["accuracy"] is None
    assert metrics["num_samples"] == 0
