"""One combination (model × preset × dataset) on a running deployment: resume from its checkpoint, ask the
samples still unanswered, score all of them, and write predictions and the combination record.

Statuses: `complete` when every sample was answered, `partial` when some errored (scored over all samples,
the errors listed), `failed` when none was. A complete combination's checkpoint is deleted once its record
is written; any other keeps it, so the next run asks only what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from evalclient.client.completion import ErrorKind
from evalclient.client.limit import AdaptiveLimit
from evalclient.deploy.deployment import Deployment
from evalclient.monitor import LivePerformanceMonitor
from evalclient.results import CombinationRecord, PredictionRow, ResultsOrganizer, SampleError
from evalclient.results.checkpoint import Checkpoint
from evalclient.results.record import Status
from evalclient.sweep.served_model import ServedModel, served_model
from evalclient.sweep.view import TaskProgress
from evalclient.tasks.base import ModelHandle, Sample, SampleOutput, ScoreResult, TaskSpec
from evalclient.tasks.context import CodeSandbox, ScoreContext
from evalclient.tasks.solving import solve_samples

log = logging.getLogger("evalclient.dataset")


@dataclass(frozen=True)
class Combination:
    """Who and what: the run, the model and preset served, the task and its samples, the fingerprint."""

    run_id: str
    model: str
    model_id: str
    preset: str
    engine: str
    task: TaskSpec
    samples: Sequence[Sample]
    fingerprint: str
    serving: dict[str, Any] | None = None
    """How the engine serves the model (engine release, path, knobs not applied): the plan's record."""
    requested: int | None = None
    """The sample count asked for (None: the whole split)."""
    revision: str | None = None
    """The model revision the fingerprint holds: the commit it resolved to, where known."""

    @property
    def short_of(self) -> int | None:
        """The count asked for when the dataset gave fewer samples; None when it gave what was asked."""
        return self.requested if self.requested is not None and len(self.samples) < self.requested else None

    @property
    def key(self) -> str:
        return f"{self.model}_{self.preset}/{self.task.name}"


class Evaluated(NamedTuple):
    """A combination's record and its predictions lines, as written."""

    record: CombinationRecord
    predictions: list[PredictionRow]


async def evaluate_combination(
    combo: Combination,
    *,
    model: ModelHandle,
    server: Deployment,
    monitor: LivePerformanceMonitor,
    results: ResultsOrganizer,
    progress: TaskProgress,
    resume: bool,
    limit: AdaptiveLimit | None = None,
    sandbox: CodeSandbox | None = None,
) -> Evaluated:
    """Run the combination to its record and predictions (written); cancellation keeps every finished answer
    checkpointed.

    `sandbox` runs the model's programs for code tasks (the run's one sandbox, started on first use)."""
    checkpoint = Checkpoint(
        results.checkpoint_path(combo.model, combo.preset, combo.task.name), combo.fingerprint
    )
    reused = _reusable(checkpoint, combo.samples) if resume else {}
    if not resume:
        checkpoint.discard()
    todo = [s for s in combo.samples if s.id not in reused]
    if limit is not None:
        limit.lowest = limit.limit
    if reused:
        progress.note(f"{combo.key}: {len(reused)} answers from the checkpoint reused, {len(todo)} to ask")
    try:
        with (
            progress.task(combo.key.replace("/", " "), total=len(todo)) as advance,
            monitor.window(combo.task.name),
        ):
            fresh = await solve_samples(combo.task, todo, model, on_done=_keep(checkpoint, advance))
    finally:
        checkpoint.close()
    answered = {o.sample_id: o for o in fresh} | reused
    outputs = [answered[s.id] for s in combo.samples]
    context = ScoreContext(sandbox=sandbox)
    evaluated = await _record(combo, outputs, fresh, server, monitor, results, client_load(limit), context)
    if evaluated.record.status == "complete":
        checkpoint.discard()
    return evaluated


def _reusable(checkpoint: Checkpoint, samples: Sequence[Sample]) -> dict[str, SampleOutput]:
    wanted = {s.id for s in samples}
    outputs = (SampleOutput.from_dict(row) for row in checkpoint.load())
    return {o.sample_id: o for o in outputs if o.ok and o.sample_id in wanted}


def _keep(checkpoint: Checkpoint, advance: Callable[[], None]) -> Callable[[SampleOutput], None]:
    def done(output: SampleOutput) -> None:
        checkpoint.append(output.as_dict())
        advance()

    return done


async def _record(
    combo: Combination,
    outputs: list[SampleOutput],
    fresh: list[SampleOutput],
    server: Deployment,
    monitor: LivePerformanceMonitor,
    results: ResultsOrganizer,
    load: dict[str, int | None],
    context: ScoreContext,
) -> Evaluated:
    failed = [o for o in outputs if not o.ok]
    status, reason = outcome(outputs, failed)
    score = ScoreResult(metrics={})
    if status != "failed" and combo.task.scorer is not None:
        by_id = {o.sample_id: o for o in outputs}
        score = await combo.task.scorer(combo.samples, by_id, context)
    performance = monitor.performance_metrics(combo.task.name, [c for o in fresh for c in o.completions])
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    rows = [prediction_row(o, score.per_sample.get(o.sample_id, {})) for o in outputs]
    lines = [row.as_dict() for row in rows]
    views = results.save_predictions(combo.model, combo.preset, combo.task.name, lines, stamp)
    measured = {**performance.metrics, **load, "time_to_ready_s": server.ready_s}
    unavailable = {k: why for k, why in performance.unavailable.items() if measured.get(k) is None}
    if load["client_concurrency"] is None:
        unavailable["client_concurrency"] = unavailable["client_concurrency_min"] = (
            "no client in this scoring"
        )
    if server.ready_s is None:
        unavailable["time_to_ready_s"] = "the server was already running (--endpoint)"
    served = served_model(server.info)
    record = CombinationRecord(
        run_id=combo.run_id,
        model=combo.model,
        model_id=served.recorded_id(combo.model_id),
        model_revision=combo.revision,
        preset=combo.preset,
        dataset=combo.task.name,
        engine=combo.engine,
        status=status,
        reason=reason,
        timestamp=stamp,
        fingerprint=combo.fingerprint,
        num_samples=len(outputs),
        samples_requested=combo.short_of,
        num_errors=len(failed),
        reused_samples=len(outputs) - len(fresh),
        errors=[_sample_error(o) for o in failed],
        dataset_metrics=score.metrics,
        performance_metrics=measured,
        performance_unavailable=unavailable,
        request_parameters=combo.task.request_parameters(),
        provenance=_provenance(server, combo, served),
        predictions_file=str(views[0].relative_to(results.base_dir)),
    )
    results.save_combination(record)
    log.info(
        "%s: %s, %d samples, %d errors, metrics %s",
        combo.key,
        status,
        len(outputs),
        len(failed),
        score.metrics,
    )
    return Evaluated(record, rows)


def _provenance(server: Deployment, combo: Combination, served: ServedModel) -> dict[str, Any]:
    provenance = server.provenance()
    provenance["served_model"] = served.record(combo.model_id)
    if combo.serving is not None:
        provenance["serving"] = combo.serving
    return provenance


def client_load(limit: AdaptiveLimit | None) -> dict[str, int | None]:
    """The concurrency the client ran at: its ceiling, and the lowest it backed off to under overload."""
    if limit is None:
        return {"client_concurrency": None, "client_concurrency_min": None}
    return {"client_concurrency": limit.ceiling, "client_concurrency_min": limit.lowest}


PERMANENT_KINDS = frozenset({ErrorKind.HTTP_4XX, ErrorKind.UNSUPPORTED, ErrorKind.MALFORMED})
"""Failures the same request meets again (a prompt over the server's size limit, HTTP 413; a validation
error; a request kind the engine lacks; an answer the protocol cannot read): a rerun cannot help them."""


def outcome(outputs: Sequence[SampleOutput], failed: Sequence[SampleOutput]) -> tuple[Status, str | None]:
    """complete (every sample answered), partial (some errored) or failed (none answered), with why; a
    rerun is suggested only for the failures it can turn into answers."""
    if not failed:
        return "complete", None
    first = failed[0].failure
    what = f"the first: {first}" if first else ""
    if len(failed) == len(outputs):
        return "failed", f"all {len(outputs)} samples failed; {what}"
    permanent = sum(1 for o in failed if o.failure is not None and o.failure.kind in PERMANENT_KINDS)
    if permanent == len(failed):
        advice = "scored as wrong; the server refuses them as sent, so a rerun fails them again"
    elif permanent:
        advice = f"scored as wrong; rerun to retry the {len(failed) - permanent} a rerun can answer"
    else:
        advice = "scored as wrong; rerun to retry them"
    return "partial", f"{len(failed)} of {len(outputs)} samples failed ({advice}); {what}"


def _sample_error(output: SampleOutput) -> SampleError:
    failure = output.failure
    assert failure is not None
    return SampleError(id=output.sample_id, kind=str(failure.kind), message=failure.message)


def prediction_row(output: SampleOutput, verdict: dict[str, Any]) -> PredictionRow:
    """One predictions line: the answer as sent, its verdict, and every completion in full."""
    final = output.final
    answer = final if final is not None and final.ok else None
    failure = output.failure
    return PredictionRow(
        id=output.sample_id,
        response=None if answer is None else answer.text,
        reasoning=None if answer is None else answer.reasoning,
        tool_calls=[] if answer is None else [c.as_dict() for c in answer.tool_calls],
        finish_reason=None if final is None else final.finish_reason,
        error=None if failure is None else failure.as_dict(),
        score=verdict,
        completions=[c.as_dict() for c in output.completions],
        solver_error=None if output.error is None else output.error.as_dict(),
    )
