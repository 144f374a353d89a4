"""`--repeat-subset N`, the noise floor: even at temperature 0 a server's answers change with the batch they
are computed in. After a combination is recorded, the first N samples it answered are asked again on the
same deployment, at most `repeat_concurrency` samples at a time (another batch composition than the
sweep's), scored by the task's own scorer, and stored with the first answer and verdict in
predictions/repeats/<model>_<preset>_<dataset>.jsonl, tagged with the combination's fingerprint. The report
counts what changed. The combination's record, predictions and status are never touched.
"""

from __future__ import annotations

import json
from typing import Any

from evalclient.results import CombinationRecord, ResultsOrganizer
from evalclient.results.atomic import atomic_write_jsonl
from evalclient.sweep.combination import Combination
from evalclient.tasks.base import ModelHandle, SampleOutput
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.solving import solve_samples


def repeat_concurrency(concurrency: int) -> int:
    """A quarter of the sweep's concurrency (2 where the sweep sent one request at a time)."""
    return 2 if concurrency == 1 else max(1, concurrency // 4)


async def ask_again(
    combo: Combination,
    record: CombinationRecord,
    model: ModelHandle,
    results: ResultsOrganizer,
    count: int,
    concurrency: int,
) -> tuple[int, int]:
    """Ask `count` answered samples again; (samples asked, answers that changed)."""
    if record.predictions_file is None or combo.task.scorer is None:
        return 0, 0
    by_id = {s.id: s for s in combo.samples}
    first = [r for r in _answered_rows(results, record.predictions_file) if r["id"] in by_id][:count]
    samples = [by_id[row["id"]] for row in first]
    outputs: list[SampleOutput] = []
    for start in range(0, len(samples), concurrency):
        outputs += await solve_samples(combo.task, samples[start : start + concurrency], model)
    score = await combo.task.scorer(samples, {o.sample_id: o for o in outputs}, ScoreContext())
    rows: list[dict[str, Any]] = []
    for row, output in zip(first, outputs, strict=True):
        final = output.final
        response = final.text if output.ok and final is not None else None
        rows.append(
            {
                "id": output.sample_id,
                "fingerprint": record.fingerprint,
                "run_id": record.run_id,
                "concurrency": concurrency,
                "response": response,
                "score": score.per_sample.get(output.sample_id, {}),
                "error": None if output.failure is None else output.failure.as_dict(),
                "first_response": row.get("response"),
                "first_score": row.get("score") or {},
            }
        )
    path = results.repeats_path(record.model, record.preset, record.dataset)
    atomic_write_jsonl(path, rows)
    changed = sum(
        _answer(r["response"], r["score"]) != _answer(r["first_response"], r["first_score"]) for r in rows
    )
    return len(rows), changed


def _answer(response: Any, verdict: dict[str, Any]) -> tuple[Any, ...]:
    """What was answered: the text, and the choice a log-likelihood task picked."""
    return response, verdict.get("predicted"), verdict.get("predicted_norm")


def _answered_rows(results: ResultsOrganizer, predictions_file: str) -> list[dict[str, Any]]:
    lines = (results.base_dir / predictions_file).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    answered = [r for r in rows if r.get("error") is None and r.get("solver_error") is None]
    return answered
