"""The judge phase (`evalclient judge`): grade the stored answers of mt_bench and alpaca_eval combinations.

For each selected combination record (not failed, with predictions), the stored predictions are read back
(never regenerated), joined to their dataset rows, and scored by the task's scorer with a judge in its
context; judgments already stored by the same judge are reused, so a second call sends nothing.

A judge's set of judgments is complete when every answer was judged and the headline score could be read.
Only a complete set is shown: the record's dataset_metrics get its scores, the judge's identity (`judge`: the
judge the headline scores come from) and the judgments file, `judges` gets its scores under the judge's
name beside those of every other judge with a complete set, and each prediction row's `score` gets the
sample's verdict; the record's status (which reflects generation) is unchanged. The headline is the most
recent complete set. A run that is not complete (an unreachable judge, failed requests) changes neither the
record nor the predictions where they show a complete set, and only says why where they show none (scores
null, `judge_status: incomplete`); it is reported (status `incomplete`, exit code 1) and kept in the judges'
scores file (store.py `JudgeScores`), where each judge's last complete set stays whatever comes after it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evalclient.errors import DatasetError, EvalClientError, UsageError
from evalclient.judge.data import JudgeData
from evalclient.judge.session import JudgeSession, Opener
from evalclient.judge.store import JudgeScores, JudgmentStore
from evalclient.results import CombinationRecord, ResultsOrganizer
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.manager import DatasetManager
from evalclient.tasks.offline_scoring import read_predictions
from evalclient.tasks.registry import get_task

JUDGED_DATASETS = ("mt_bench", "alpaca_eval", "alpaca_eval_v1")
SCORE_KEYS = {
    "mt_bench": ("mt_bench_score", "mt_bench_score_turn1", "mt_bench_score_turn2"),
    "alpaca_eval": ("win_rate", "standard_error", "length_controlled_winrate", "lc_standard_error"),
    "alpaca_eval_v1": ("win_rate", "standard_error"),
}
"""Each judge's scores kept in the record's `judges`, by dataset; the first is the headline."""
log = logging.getLogger("evalclient.judge")


@dataclass
class JudgeOutcome:
    """What became of one combination: judged, incomplete (some judge requests failed) or failed."""

    key: str
    status: str
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class JudgeSummary:
    judge: dict[str, Any]
    outcomes: list[JudgeOutcome] = field(default_factory=list)
    sent: int = 0
    reused: int = 0

    @property
    def failed(self) -> list[JudgeOutcome]:
        return [o for o in self.outcomes if o.status != "judged"]


def judged_records(
    results: ResultsOrganizer,
    models: Sequence[str] | None = None,
    presets: Sequence[str] | None = None,
    datasets: Sequence[str] = JUDGED_DATASETS,
) -> list[CombinationRecord]:
    """The stored records to judge: the selected judged datasets, not failed, with predictions."""
    return [
        r
        for r in results.iter_combinations()
        if r.dataset in datasets
        and (models is None or r.model in models)
        and (presets is None or r.preset in presets)
        and r.status != "failed"
        and r.predictions_file
    ]


async def judge_results(
    results: ResultsOrganizer,
    records: Sequence[CombinationRecord],
    identity: dict[str, Any],
    opener: Opener,
    data: JudgeData,
    *,
    seed: int = 1234,
    note: Callable[[str], None] = lambda line: None,
) -> JudgeSummary:
    """Judge every record in turn with one judge (started on the first request that must be sent)."""
    if not records:
        raise UsageError(
            f"no stored mt_bench or alpaca_eval answers to judge in {results.base_dir}",
            "run the sweep with those datasets first, or pass --output with its results folder",
        )
    manager = DatasetManager(data.data_dir, data.cache_dir, seed)
    summary = JudgeSummary(identity)
    async with AsyncExitStack() as stack:
        session = JudgeSession(identity, opener, stack)
        for record in records:
            key = f"{record.model}/{record.preset}/{record.dataset}"
            try:
                outcome = await _judge_record(results, record, session, manager, data)
            except EvalClientError as exc:
                log.error("judging %s failed: %s", key, exc)
                outcome = JudgeOutcome(key, "failed", str(exc))
            note(f"{'✓' if outcome.status == 'judged' else '✗'} {key}: {outcome.message}")
            summary.outcomes.append(outcome)
        summary.sent, summary.reused = session.sent, session.reused
    return summary


async def _judge_record(
    results: ResultsOrganizer,
    record: CombinationRecord,
    session: JudgeSession,
    manager: DatasetManager,
    data: JudgeData,
) -> JudgeOutcome:
    key = f"{record.model}/{record.preset}/{record.dataset}"
    task = get_task(record.dataset)
    assert task.scorer is not None
    assert record.predictions_file is not None
    predictions = results.base_dir / record.predictions_file
    outputs = read_predictions(predictions)
    samples = [s for s in manager.get_evaluation_samples(task, None) if s.id in outputs]
    unknown = sorted(set(outputs) - {s.id for s in samples})
    if unknown:
        raise DatasetError(
            f"{predictions.name}: {len(unknown)} id(s) are not in the {task.name} rows, e.g. {unknown[0]}",
            "pass the --data-dir the sweep used",
        )
    samples = data.join(task.name, samples)
    store = JudgmentStore(results.judgments_path(record.model, record.preset, record.dataset))
    scores = JudgeScores(results.judge_scores_path(record.model, record.preset, record.dataset))
    scores.load()  # an unreadable file fails here, before any request
    before = session.sent
    judge = session.for_store(store, judges_own_answers=session.identity.get("name") == record.model)
    result = await task.scorer(samples, outputs, ScoreContext(judge=judge, data=data.extras(task.name)))
    judged = {**result.metrics, "judgments_file": str(store.path.relative_to(results.base_dir))}
    identity = dict(judged.get("judge") or judge.identity)
    headline = SCORE_KEYS[task.name][0]
    value = judged.get(headline)
    counts = (
        f"{judged.get('num_judgments', 0)} judgments "
        f"({session.sent - before} sent, {judged.get('num_judgments_reused', 0)} reused)"
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    previous = record.dataset_metrics
    shown = _shown_judge(previous, headline)
    if judged.get("judge_status") == "judged" and isinstance(value, int | float):
        kept = {k: v for k, v in previous.items() if k != "pending_reason"}
        judges = _judge_scores(previous, task.name)
        judges[session.name] = {k: judged.get(k) for k in SCORE_KEYS[task.name]}
        metrics = {**kept, **judged, "judges": dict(sorted(judges.items()))}
        record.dataset_metrics = metrics
        results.save_combination(record)
        _update_prediction_scores(results, record, result.per_sample)
        message = f"{headline} {value:.4g}; {counts}"
        if shown is not None and shown != session.name:
            message += f"; the headline now, in place of judge {shown}'s (kept under `judges`)"
        complete = {"judged_at": now, "predictions_file": record.predictions_file, "metrics": judged}
        scores.update(identity, {"status": "judged", "at": now, "message": message}, complete)
        log.info("%s: %s", key, message)
        return JudgeOutcome(key, "judged", message, metrics)
    reason = judged.get("pending_reason") or (
        f"no {headline}: none of its {judged.get('num_judgments', 0)} judgment(s) could be read"
    )
    why = f"judge {session.name}: {reason}"
    if shown is None:
        record.dataset_metrics = {**previous, "judge_status": "incomplete", "pending_reason": why}
        results.save_combination(record)
        message = f"{why}; {counts}; no {headline} until a judge's set is complete"
    else:
        message = f"{why}; {counts}; {headline} stays {previous[headline]:.4g}, judged by {shown}"
    scores.update(identity, {"status": "incomplete", "at": now, "message": message, "metrics": judged})
    log.info("%s: %s", key, message)
    return JudgeOutcome(key, "incomplete", message, record.dataset_metrics)


def _shown_judge(metrics: Mapping[str, Any], headline: str) -> str | None:
    """The judge whose complete set the record shows, None where it shows none (pending, incomplete)."""
    judge = metrics.get("judge")
    if metrics.get("judge_status") != "judged" or not isinstance(judge, dict):
        return None
    return str(judge.get("name")) if isinstance(metrics.get(headline), int | float) else None


def _judge_scores(metrics: Mapping[str, Any], dataset: str) -> dict[str, dict[str, Any]]:
    """The record's `judges`, with the judge it shows added where it predates them."""
    stored = metrics.get("judges")
    judges = (
        {str(k): dict(v) for k, v in stored.items() if isinstance(v, dict)}
        if isinstance(stored, dict)
        else {}
    )
    shown = _shown_judge(metrics, SCORE_KEYS[dataset][0])
    if shown is not None and shown not in judges:
        judges[shown] = {k: metrics.get(k) for k in SCORE_KEYS[dataset]}
    return judges


def _update_prediction_scores(
    results: ResultsOrganizer, record: CombinationRecord, verdicts: dict[str, dict[str, Any]]
) -> None:
    """Each prediction row's `score` becomes its judged verdict (the file and its views rewritten)."""
    assert record.predictions_file is not None
    path = results.base_dir / record.predictions_file
    prefix = f"{record.model}_{record.preset}_{record.dataset}_"
    if not path.name.startswith(prefix):
        return
    rows = [_row(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["score"] = verdicts.get(str(row.get("id")), row.get("score") or {})
    stamp = path.name[len(prefix) : -len(".jsonl")]
    results.save_predictions(record.model, record.preset, record.dataset, rows, stamp)


def _row(line: str) -> dict[str, Any]:
    row = json.loads(line)
    return row if isinstance(row, dict) else {}
