"""Answer-quality metrics every task reports beside its score: errors, truncation, empty and unparseable.

Counts are over the combination's samples and disjoint, in this order: a sample whose requests failed is an
error; an answered one may be truncated (`finish_reason` "length", counted whatever else holds); an answered
one whose answer is empty (content null, or a thinking model that spent its budget inside `<think>`) is
empty; a non-empty answer the scorer could not read is unparseable. Rates divide by the sample count. Tasks
scored without text (log-likelihood) report the text counts as null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.tasks.base import Sample, SampleOutput


def answer_quality(
    samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], verdicts: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """num_/…_rate for errors, truncated, empty and unparseable answers."""
    total = len(samples)
    errors = truncated = empty = unparsed = 0
    has_text = False
    for sample in samples:
        output = outputs.get(sample.id)
        if output is None or not output.ok:
            errors += 1
            continue
        final = output.final
        if final is None:
            continue
        has_text = True
        truncated += final.truncated
        if not final.answer.strip() and not final.tool_calls:
            empty += 1
        elif verdicts.get(sample.id, {}).get("parsed") is False:
            unparsed += 1
    text_counts: dict[str, int | None] = {
        "num_truncated": truncated if has_text else None,
        "num_empty": empty if has_text else None,
        "num_failed_parse": unparsed if has_text else None,
    }
    metrics: dict[str, Any] = {"num_samples": total, "num_errors": errors, **text_counts}
    metrics["error_rate"] = _rate(errors, total)
    metrics["truncated_rate"] = _rate(text_counts["num_truncated"], total)
    metrics["empty_answer_rate"] = _rate(text_counts["num_empty"], total)
    metrics["unparseable_rate"] = _rate(text_counts["num_failed_parse"], total)
    return metrics


def _rate(count: int | None, total: int) -> float | None:
    return None if count is None or not total else count / total
