"""What the judged tasks (mt_bench, alpaca_eval) share: scores marked pending until a judge ran, and the
bookkeeping every judged score carries (the judge's identity, how many judgments were new, reused or failed).

Generation and judging are separate phases: the sweep stores the answers and records these tasks' scores as
`judge_status: pending` with the reason; `evalclient judge` grades the stored answers later and fills them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evalclient.tasks.base import Sample, SampleOutput, ScoreResult
from evalclient.tasks.context import Judge, Judgment
from evalclient.tasks.quality import answer_quality

PENDING_REASON = "graded by a judge model: run `evalclient judge` on this results folder"


def pending(
    samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], headline: Iterable[str]
) -> ScoreResult:
    """The answer-quality metrics, the headline scores null, and why."""
    metrics: dict[str, Any] = dict.fromkeys(headline)
    metrics.update(
        response_quality_score=None,
        judge_status="pending",
        pending_reason=PENDING_REASON,
        judge=None,
        **answer_quality(samples, outputs, {}),
    )
    return ScoreResult(metrics=metrics)


def judge_bookkeeping(judge: Judge, judgments: Sequence[Judgment], unjudged: int) -> dict[str, Any]:
    """The judge's identity and the counts of judgments sent, reused and failed, with the status:
    `judged` when every answer has a judgment, else `incomplete` (rerun `evalclient judge` for the rest)."""
    failed = sum(1 for j in judgments if j.completion.error is not None)
    status = "judged" if not failed else "incomplete"
    metrics: dict[str, Any] = {
        "judge_status": status,
        "judge": judge.identity,
        "num_judgments": len(judgments) - failed,
        "num_judgments_reused": sum(1 for j in judgments if j.reused and j.completion.error is None),
        "num_judge_errors": failed,
        "num_unjudged_answers": unjudged,
    }
    if failed:
        first = next(j.completion.error for j in judgments if j.completion.error is not None)
        metrics["pending_reason"] = f"{failed} judge request(s) failed, the first: {first}; rerun to retry"
    return metrics


def answered_text(output: SampleOutput | None, index: int) -> str | None:
    """The answer of the solver's `index`-th completion (reasoning removed), None when it did not succeed."""
    if output is None or index >= len(output.completions):
        return None
    completion = output.completions[index]
    return completion.answer if completion.ok else None
