"""`--repeat-subset N`, the noise floor: even at temperature 0 a server's answers change with the batch they
are computed in. After a combination is recorded, the first N samples it answered are asked again on the
same deployment, at most `repeat_concurrency` samples at a time (another batch composition than the
sweep's), scored by the task's own scorer, and stored with the first answer and verdict in
predictions/repeats/<model>_<preset>_<dataset>.jsonl, tagged with the combination's fingerprint. The report
counts what changed. The combination's record, predictions and status are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalclient.results import CombinationRecord, PredictionRow, ResultsOrganizer
from evalclient.results.atomic import atomic_write_jsonl
from evalclient.results.prediction import answer_of
from evalclient.sweep.combination import Combination
from evalclient.tasks.base import ModelHandle, SampleOutput, ScoreResult
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.solving import solve_samples


def repeat_concurrency(concurrency: int) -> int:
    """A quarter of the sweep's concurrency (2 where the sweep sent one request at a time)."""
    return 2 if concurrency == 1 else max(1, concurrency // 4)


async def ask_again(
    combo: Combination,
    record: CombinationRecord,
    predictions: Sequence[PredictionRow],
    model: ModelHandle,
    results: ResultsOrganizer,
    count: int,
    concurrency: int,
) -> tuple[int, int]:
    """Ask `count` of the combination's answered samples again (`predictions`: its lines, as just written);
    (samples asked, answers that changed)."""
    if combo.task.scorer is None:
        return 0, 0
    by_id = {s.id: s for s in combo.samples}
    first = [r for r in predictions if r.answered and r.id in by_id][:count]
    samples = [by_id[row.id] for row in first]
    outputs: list[SampleOutput] = []
    for start in range(0, len(samples), concurrency):
        outputs += await solve_samples(combo.task, samples[start : start + concurrency], model)
    score = await combo.task.scorer(samples, {o.sample_id: o for o in outputs}, ScoreContext())
    rows = [
        _repeat_row(row, output, record, concurrency, score)
        for row, output in zip(first, outputs, strict=True)
    ]
    atomic_write_jsonl(results.repeats_path(record.model, record.preset, record.dataset), rows)
    changed = sum(
        answer_of(r["response"], r["score"]) != answer_of(r["first_response"], r["first_score"]) for r in rows
    )
    return len(rows), changed


def _repeat_row(
    first: PredictionRow,
    output: SampleOutput,
    record: CombinationRecord,
    concurrency: int,
    score: ScoreResult,
) -> dict[str, Any]:
    """The second answer and its verdict, beside the first."""
    final = output.final
    return {
        "id": output.sample_id,
        "fingerprint": record.fingerprint,
        "run_id": record.run_id,
        "concurrency": concurrency,
        "response": final.text if output.ok and final is not None else None,
        "score": score.per_sample.get(output.sample_id, {}),
        "error": None if output.failure is None else output.failure.as_dict(),
        "first_response": first.response,
        "first_score": first.score,
    }
