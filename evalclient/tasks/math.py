"""GSM8K: a chain-of-thought chat prompt, scored with lm-evaluation-harness's gsm8k filters and metric.

lm-eval's gsm8k task (v3.0) has two filters over the answer: *strict-match* takes the first
`#### <number>` (`#### (\\-?[0-9\\.\\,]+)`), *flexible-extract* the last number-like span
(`(-?[$0-9.,]{2,})|(-?[0-9]+)`). Each is compared with the whole reference solution by exact_match ignoring
case and the regexes `,`, `\\$`, `(?s).*#### ` and `\\.$`. Reported as `exact_match_strict` and
`exact_match_flexible`; `accuracy` is the flexible one, the number people quote. `exact_match_numeric` is
evalclient's own lenient variant (flexible extraction, equal as numbers: "18.00" counts as 18).
Inline `<think>` reasoning is removed before extraction, so a number inside it is never scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind, Sampling
from evalclient.errors import DatasetError
from evalclient.tasks.base import (
    HubSource,
    ModelHandle,
    Sample,
    SampleOutput,
    ScoreResult,
    TaskSpec,
    off_loop,
)
from evalclient.tasks.lm_eval_match import FALLBACK, exact_match, normalised, regex_filter
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.report_spec import ACCURACY, ReportSpec
from evalclient.tasks.text import answer_text, ask

STRICT_PATTERN = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE_PATTERN = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
REGEXES_TO_IGNORE = (",", "\\$", "(?s).*#### ", "\\.$")
SAMPLING = Sampling(max_tokens=512)

PROMPT_TEMPLATE = (
    "Solve the following math word problem. Reason step by step, showing your calculations. "
    'Then write the final answer on the last line in the form "#### <number>", with the number only '
    "(no units).\n\nQuestion: {question}"
)


def extract_strict(response: str) -> str:
    """lm-eval strict-match: the first `#### <number>`'s number, or "[invalid]"."""
    return regex_filter(response, STRICT_PATTERN, 0)


def extract_flexible(response: str) -> str:
    """lm-eval flexible-extract: the last number-like span, or "[invalid]"."""
    return regex_filter(response, FLEXIBLE_PATTERN, -1)


def gsm8k_match(prediction: str, reference: str) -> bool:
    """lm-eval's exact_match with the gsm8k task's settings."""
    return exact_match(prediction, reference, REGEXES_TO_IGNORE, ignore_case=True)


def numeric_value(text: str) -> Decimal | None:
    """The number in an extracted answer ("$1,000.00" -> 1000), None when it is not one."""
    cleaned = text.strip().replace(",", "").replace("$", "").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def reference_solution(row: Mapping[str, Any]) -> str:
    """The row's whole `answer` (lm-eval's doc_to_target); DatasetError without a `####` line."""
    answer = str(row.get("answer", ""))
    if "####" not in answer:
        raise DatasetError(
            "gsm8k row has no '#### <number>' line in its answer field",
            "give rows in the hub schema (openai/gsm8k main: question, answer ending with '#### N')",
        )
    return answer


async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
    prompt = PROMPT_TEMPLATE.format(question=str(sample.row["question"]).strip())
    return await ask(model, sample.id, prompt, SAMPLING)


def score_now(samples: Sequence[Sample], outputs: Mapping[str, SampleOutput]) -> ScoreResult:
    """The metrics and verdicts (synchronous; run off the event loop)."""
    verdicts = {s.id: verdict(s, answer_text(outputs.get(s.id))) for s in samples}
    total = len(samples)

    def mean(key: str) -> float | None:
        return sum(bool(v[key]) for v in verdicts.values()) / total if total else None

    metrics: dict[str, Any] = {
        "accuracy": mean("exact_match_flexible"),
        "exact_match_strict": mean("exact_match_strict"),
        "exact_match_flexible": mean("exact_match_flexible"),
        "exact_match_numeric": mean("exact_match_numeric"),
        **answer_quality(samples, outputs, verdicts),
    }
    return ScoreResult(metrics=metrics, per_sample=verdicts)


def verdict(sample: Sample, answer: str | None) -> dict[str, Any]:
    """Both filters' answers, the reference as compared, and each metric's hit."""
    reference = reference_solution(sample.row)
    text = "" if answer is None else answer
    strict, flexible = extract_strict(text), extract_flexible(text)
    value, gold = numeric_value(flexible), numeric_value(normalised(reference, REGEXES_TO_IGNORE))
    return {
        "strict": strict,
        "flexible": flexible,
        "reference": normalised(reference, REGEXES_TO_IGNORE, ignore_case=True),
        "exact_match_strict": gsm8k_match(strict, reference),
        "exact_match_flexible": gsm8k_match(flexible, reference),
        "exact_match_numeric": value is not None and value == gold,
        "correct": gsm8k_match(flexible, reference),
        "parsed": flexible != FALLBACK,
    }


GSM8K = TaskSpec(
    name="gsm8k",
    family="reasoning",
    source=HubSource(
        "openai/gsm8k",
        "main",
        "test",
        "cc7b047b6e5bb11b4f1af84efc572db110a51b3c",
        files=(("test", ("main/test-00000-of-00001.parquet",)),),
        rows=(("test", 1319),),
        cited='inspect_evals 0.20.0\'s pin; the parquet layout dates from "Convert dataset to Parquet (#3)" '
        "(e53f048, which deleted gsm8k.py); 1,319 test problems",
    ),
    required_fields=("question", "answer"),
    solver=solve,
    scorer=off_loop(score_now),
    request_kinds=frozenset({RequestKind.CHAT}),
    sampling=SAMPLING,
    description="grade-school math word problems (1,319 in test); lm-eval's strict and flexible exact match",
    report=ReportSpec((ACCURACY,), "reasoning"),
)
