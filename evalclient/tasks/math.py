"""GSM8K: chain-of-thought prompt, lm-evaluation-harness answer extraction (strict and flexible), scoring.

Extraction follows lm-eval's gsm8k task filters: *strict-match* takes the first `#### <number>`
(`#### (\\-?[0-9\\.\\,]+)`), *flexible-extract* the last number-like span (`(-?[$0-9.,]{2,})|(-?[0-9]+)`).
Both answers and the reference are normalised the way lm-eval's exact_match ignores text (commas, `$`,
a trailing period, case), and numerically, so "72.0" equals "72". One deliberate difference: a flexible
candidate must contain a digit, so a trailing "..." is never taken for the answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from evalclient.client.types import GenerationRequest
from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource, Sample, ScoreResult, Task
from evalclient.tasks.text import response_text, strip_reasoning, user_message

STRICT_PATTERN = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE_PATTERN = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
_HAS_DIGIT = re.compile(r"[0-9]")

PROMPT_TEMPLATE = (
    "Solve the following math word problem. Reason step by step, showing your calculations. "
    'Then write the final answer on the last line in the form "#### <number>", with the number only '
    "(no units).\n\nQuestion: {question}"
)


def normalize_number(text: str) -> str:
    """Canonical form of an answer: no commas, `$` or trailing period; "72.0" -> "72", "0.50" -> "0.5"."""
    cleaned = text.strip().replace(",", "").replace("$", "").strip().rstrip(".").strip().lower()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return cleaned
    if not value.is_finite():
        return cleaned
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def extract_strict(response: str) -> str | None:
    """lm-eval strict-match: the first `#### <number>`, normalised; None when there is none."""
    match = STRICT_PATTERN.search(strip_reasoning(response))
    return normalize_number(match.group(1)) if match else None


def extract_flexible(response: str) -> str | None:
    """lm-eval flexible-extract: the last number-like span, normalised; None when there is none."""
    candidates = [
        next(group for group in groups if group)
        for groups in FLEXIBLE_PATTERN.findall(strip_reasoning(response))
        if any(groups)
    ]
    numbers = [candidate for candidate in candidates if _HAS_DIGIT.search(candidate)]
    return normalize_number(numbers[-1]) if numbers else None


def reference_answer(row: Mapping[str, Any]) -> str:
    """The gold number: the text after the last `####` of the row's `answer`, normalised."""
    answer = str(row.get("answer", ""))
    if "####" not in answer:
        raise DatasetError(
            "gsm8k row has no '#### <number>' line in its answer field",
            "give rows in the hub schema (openai/gsm8k main: question, answer ending with '#### N')",
        )
    return normalize_number(answer.split("####")[-1])


class GSM8KTask(Task):
    """Grade-school math word problems (openai/gsm8k, main, test: 1,319 problems)."""

    name = "gsm8k"
    family = "reasoning"
    source = HubSource("openai/gsm8k", "main", "test", "cc7b047b6e5bb11b4f1af84efc572db110a51b3c")
    id_field = None
    required_fields = ("question", "answer")
    max_tokens = 512

    def build_request(self, sample: Sample) -> GenerationRequest:
        prompt = PROMPT_TEMPLATE.format(question=str(sample.row["question"]).strip())
        return GenerationRequest(id=sample.id, messages=user_message(prompt), max_tokens=self.max_tokens)

    def score(self, samples: Sequence[Sample], responses: Mapping[str, str]) -> ScoreResult:
        per_sample = {
            sample.id: _score_one(sample, response_text(responses, sample.id)) for sample in samples
        }
        verdicts = list(per_sample.values())
        total = len(verdicts)
        metrics: dict[str, Any] = {
            "accuracy": _mean(sum(v["correct"] for v in verdicts), total),
            "exact_match": _mean(sum(v["strict_correct"] for v in verdicts), total),
            "num_samples": total,
            "num_failed_parse": sum(1 for v in verdicts if not v["missing"] and v["extracted"] is None),
            "num_missing": sum(1 for v in verdicts if v["missing"]),
        }
        return ScoreResult(metrics=metrics, per_sample=per_sample)


def _score_one(sample: Sample, response: str | None) -> dict[str, Any]:
    reference = reference_answer(sample.row)
    extracted = None if response is None else extract_flexible(response)
    strict = None if response is None else extract_strict(response)
    return {
        "extracted": extracted,
        "strict_extracted": strict,
        "reference": reference,
        "correct": extracted == reference,
        "strict_correct": strict == reference,
        "missing": response is None,
    }


def _mean(hits: int, total: int) -> float | None:
    return hits / total if total else None
