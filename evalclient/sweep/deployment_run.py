"""One deployment on its GPU slot: start it, evaluate its datasets against it, report every outcome.

The process that owns the results tree (the runner) gives each DeploymentRun a `Reporter`: every outcome,
when the deployment started, was ready and ended, and when its weights are in the model cache go through it.
The run itself writes only its own combinations' files (checkpoints, predictions, metrics) through the
results organizer, so a cluster backend can run it on another node with a reporter and an organizer that
forward to the owner.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from evalclient.client import ServerClient
from evalclient.config import Config
from evalclient.deploy.deployment import Deployment, Provider, SpecFor
from evalclient.deploy.endpoint import fetch_info
from evalclient.engines.base import Ports
from evalclient.engines.model import DeploymentModel
from evalclient.engines.registry import get_adapter
from evalclient.errors import EngineError, EvalClientError
from evalclient.monitor import LivePerformanceMonitor
from evalclient.monitor.container import ContainerProbe
from evalclient.planning.plan import DeploymentPlan, Plan
from evalclient.planning.slots import Slot
from evalclient.results import CombinationRecord, PredictionRow, ResultsOrganizer, combination_fingerprint
from evalclient.results.disk_full import disk_full_error, full_disk_cause
from evalclient.sweep.combination import Combination, evaluate_combination
from evalclient.sweep.repeats import ask_again, repeat_concurrency
from evalclient.sweep.run_types import Outcome, RunOptions
from evalclient.sweep.served_model import COMMIT, cached_commit, served_model
from evalclient.sweep.view import DeploymentDisplay
from evalclient.tasks.base import LOGLIKELIHOOD_MODE, Sample, TaskSpec
from evalclient.tasks.context import CodeSandbox
from evalclient.tasks.probe import PROBE_PASSED, probe_loglikelihood

log = logging.getLogger("evalclient.sweep.runner")


@dataclass(frozen=True)
class _Fingerprint:
    """A combination's fingerprint and what it was computed from that a started server may change."""

    value: str
    image_id: str | None
    revision: str
    dataset_revision: str


class Reporter(Protocol):
    """How a deployment tells the owner of the results tree what happened."""

    def outcome(self, outcome: Outcome) -> None:
        """A combination ended (complete, partial, failed, or skipped as complete before)."""

    def event(self, key: str, event: str, slot: Slot | None = None) -> None:
        """The deployment `started_at` (on `slot`), was `ready_at`, `ended_at`."""

    def weights_loaded(self, deployment: DeploymentPlan, loaded: bool) -> None:
        """The deployment is ready (its weights are in the cache: `loaded`) or ended without being ready."""

    def note_disk_full(self, cause: OSError) -> None:
        """The disk under the results is full: the run stops (said once)."""


class SampleSource(Protocol):
    """Where a deployment's samples come from: the dataset manager, or the driver's (on a cluster node)."""

    def get_evaluation_samples(self, ref: TaskSpec, n: int | None) -> list[Sample]: ...

    def dataset_fingerprint(self, ref: TaskSpec) -> str: ...


@dataclass(frozen=True)
class RunContext:
    """What every deployment of a run shares."""

    config: Config
    plan: Plan
    options: RunOptions
    run_id: str
    results: ResultsOrganizer
    datasets: SampleSource
    provider: Provider
    sandbox: CodeSandbox | None


class DeploymentRun:
    """One deployment on its slot, from start to teardown; `run` raises nothing but a cancellation."""

    def __init__(
        self,
        context: RunContext,
        deployment: DeploymentPlan,
        slot: Slot,
        shards: int,
        view: DeploymentDisplay,
        reporter: Reporter,
    ) -> None:
        self.context = context
        self.deployment = deployment
        self.slot = slot
        self.shards = shards
        self.view = view
        self.reporter = reporter
        self.plan = context.plan
        self.options = context.options
        self.run_id = context.run_id
        self.results = context.results
        self.datasets = context.datasets
        self.adapter = get_adapter(deployment.engine)
        self.provider = context.provider
        self.sandbox = context.sandbox
        self.outcomes: list[Outcome] = []
        self.fingerprints: dict[str, _Fingerprint] = {}
        """Each dataset's fingerprint, computed once by the skip check and carried to its record."""
        self.revision = deployment.model.revision
        """The model revision the fingerprints hold: the commit it resolves to, where known."""

    async def run(self) -> None:
        plan, slot, view = self.deployment, self.slot, self.view
        try:
            samples = await self._load_samples(plan)
            image = plan.image
            image_id = await asyncio.to_thread(self.provider.image_id, image)
            self.revision = await self._resolved_revision(plan)
            todo = self._incomplete(plan, samples, image_id, view)
            if not todo:
                return
            if self.options.endpoint:
                view.stage(f"using the server already running at {self.options.endpoint}")
            else:
                tp = f", tensor-parallel over {self.shards} GPUs" if self.shards > 1 else ""
                view.stage(f"starting {image}{tp}")
            self.reporter.event(plan.key, "started_at", slot)
            log_path = self.results.log_path("model_evaluation", f"{plan.key}_{self.run_id}_container")
            try:
                async with self.provider.deploy(
                    plan,
                    self._spec_for(plan),
                    run_id=self.run_id,
                    log_path=log_path,
                    slot=slot,
                    stage=view.stage,
                ) as server:
                    self.reporter.weights_loaded(plan, True)
                    self.reporter.event(plan.key, "ready_at")
                    view.stage(_ready_line(server))
                    self._check_served(plan, server, view)
                    await self._serve(plan, server, todo, view)
            finally:
                self.reporter.event(plan.key, "ended_at")
        except Exception as exc:
            self._fail_remaining(plan, self._failure(plan.key, exc, view))
        finally:
            self.reporter.weights_loaded(plan, False)
            view.finish(self._ended_line())

    def _ended_line(self) -> str:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return "ended: " + (", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing run")

    def _record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.reporter.outcome(outcome)

    def _fail_remaining(self, plan: DeploymentPlan, error: str) -> None:
        done = {o.dataset for o in self.outcomes}
        for job in plan.datasets:
            if job.name not in done:
                self._record(Outcome(plan.model.key, plan.preset.name, job.name, "failed", error))

    def _spec_for(self, plan: DeploymentPlan) -> SpecFor:
        return lambda ports: plan.launch_spec(ports, self.shards)

    async def _serve(
        self, plan: DeploymentPlan, server: Deployment, todo: dict[str, list[Sample]], view: DeploymentDisplay
    ) -> None:
        """Evaluate the datasets until they are done or the server is lost (then EngineError with why)."""
        work = asyncio.create_task(self._evaluate_on(plan, server, todo, view))
        lost = asyncio.create_task(server.lost.wait())
        try:
            await asyncio.wait({work, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not work.done():
                work.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await work
        if not work.cancelled() and work.exception() is None:
            return
        if server.lost.is_set():
            raise EngineError(f"the deployment was lost: {server.lost_reason}")
        work.result()

    def _failure(self, where: str, exc: Exception, view: DeploymentDisplay) -> str:
        """Log a failure (with its traceback when it is not one of ours) and return its message."""
        if isinstance(exc, EvalClientError):
            log.error("%s failed: %s", where, exc)
            message = str(exc)
        else:  # a bug or an unexpected library error: keep the traceback in the log, go on with the sweep
            log.exception("%s failed unexpectedly", where)
            message = f"unexpected {type(exc).__name__}: {exc} (traceback in logs/model_evaluation/)"
        view.note(f"[red]✗ {where}: {message.splitlines()[0]}")
        return message

    async def _load_samples(self, plan: DeploymentPlan) -> dict[str, list[Sample] | EvalClientError]:
        loaded: dict[str, list[Sample] | EvalClientError] = {}
        for job in plan.datasets:
            try:
                loaded[job.name] = await asyncio.to_thread(
                    self.datasets.get_evaluation_samples, job.spec, job.samples
                )
            except EvalClientError as exc:
                loaded[job.name] = exc
        return loaded

    def _incomplete(
        self,
        plan: DeploymentPlan,
        samples: dict[str, list[Sample] | EvalClientError],
        image_id: str | None,
        view: DeploymentDisplay,
    ) -> dict[str, list[Sample]]:
        """Datasets still to run; load failures, unservable ones and those already complete are recorded."""
        todo: dict[str, list[Sample]] = {}
        for name, loaded in samples.items():
            if isinstance(loaded, EvalClientError):
                self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", str(loaded)))
                continue
            task = plan.job(name).spec
            missing = task.request_kinds - self.adapter.request_kinds
            if missing:
                kinds = ", ".join(sorted(str(k) for k in missing))
                message = f"{plan.engine} cannot serve {name}'s {kinds} requests; nothing was sent"
                self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", message))
                continue
            fingerprint = self.fingerprints[name] = self._fingerprint(plan, image_id, task, loaded)
            stored = self.results.load_combination(plan.model.key, plan.preset.name, name)
            if self.options.resume and _is_complete(stored, fingerprint.value):
                path = self.results.detailed_metrics_path(plan.model.key, plan.preset.name, name)
                self._record(Outcome(plan.model.key, plan.preset.name, name, "skipped", None, str(path)))
                view.note(f"[dim]↷ {plan.key}/{name}: complete in {path.name}, skipped")
                continue
            asked = plan.job(name).samples
            if asked is not None and len(loaded) < asked:
                view.note(
                    f"[yellow]{plan.key}/{name}: {len(loaded)} samples of the {asked} asked: the dataset has "
                    f"only {len(loaded)} rows"
                )
            todo[name] = loaded
        return todo

    async def _resolved_revision(self, plan: DeploymentPlan) -> str:
        """The commit the model's revision resolves to before anything starts: a commit as given, else what
        the running endpoint reports, else the model cache's ref (the hub client wrote it when it
        resolved the branch for the download); the branch name only when none of them knows."""
        revision = plan.model.revision
        if COMMIT.match(revision):
            return revision
        if self.options.endpoint:
            info = await fetch_info(self.options.endpoint, self.adapter.info_paths)
            served = served_model(info)
            if served.revision is not None and served.matches(plan.model.hub_id):
                return served.revision
        cache = self.options.model_cache
        commit = None if cache is None else cached_commit(cache, plan.model.hub_id, revision)
        return commit or revision

    def _check_served(self, plan: DeploymentPlan, server: Deployment, view: DeploymentDisplay) -> None:
        """The model the server says it serves: its commit joins the fingerprints; another model than the
        one asked for is said on the terminal (and the records carry it, for the reports' flag)."""
        served = served_model(server.info)
        if served.revision is not None and served.matches(plan.model.hub_id):
            self.revision = served.revision
        if served.matches(plan.model.hub_id) is False:
            message = (
                f"{plan.key}: the server serves {served.model_id}, not {plan.model.hub_id}: its results are "
                f"recorded as {served.model_id}'s"
            )
            log.warning("%s", message)
            view.note(f"[yellow]⚠ {message}")

    def _fingerprint(
        self,
        plan: DeploymentPlan,
        image_id: str | None,
        task: TaskSpec,
        samples: list[Sample],
        dataset_revision: str | None = None,
    ) -> _Fingerprint:
        """The combination's fingerprint as the deployment stands now (the dataset's part asked for unless
        given)."""
        spec = self._spec_for(plan)(Ports(0))
        dataset = self.datasets.dataset_fingerprint(task) if dataset_revision is None else dataset_revision
        value = combination_fingerprint(
            model_id=plan.model.hub_id,
            model_revision=self.revision,
            launch_args=spec.fingerprint_args,
            image=self.options.endpoint or spec.image,
            image_id=image_id,
            dataset_revision=dataset,
            sample_ids=[s.id for s in samples],
            task_parameters=task.request_parameters(),
        )
        return _Fingerprint(value, image_id, self.revision, dataset)

    def _served_fingerprint(
        self, plan: DeploymentPlan, server: Deployment, name: str, samples: list[Sample]
    ) -> str:
        """The skip check's fingerprint of `name`; computed again (its dataset part kept) only where the
        server runs another image or commit than the check knew of."""
        known = self.fingerprints[name]
        if (known.image_id, known.revision) == (server.image_id, self.revision):
            return known.value
        task = plan.job(name).spec
        return self._fingerprint(plan, server.image_id, task, samples, known.dataset_revision).value

    async def _evaluate_on(
        self, plan: DeploymentPlan, server: Deployment, todo: dict[str, list[Sample]], view: DeploymentDisplay
    ) -> None:
        async with ServerClient(
            server.base_url,
            protocols=self.adapter.protocols(),
            model=plan.model.hub_id,
            concurrency=self.options.concurrency or self.adapter.server_concurrency(server.info, plan.preset),
            request_timeout_s=self.options.request_timeout_s,
            max_retries=self.options.max_retries,
            retry_wait_s=self.options.retry_wait_s,
            health_path=self.adapter.health_path,
            on_dead=server.mark_lost,
        ) as client:
            slot = server.slot
            monitor = LivePerformanceMonitor(
                metric_names=self.adapter.metric_names,
                metrics_url=server.base_url + self.adapter.metrics_path,
                session=client.session,
                gpu_indices=list(slot.gpus) if slot is not None and not slot.virtual else [],
                max_batch_total_tokens=self.adapter.kv_budget(
                    server.logs, server.info, plan.serving.preset.max_batch_total_tokens
                ),
                container=self._container_probe(server),
                samples_path=self.results.performance_samples_path(plan.model.key, plan.preset.name),
                run_id=self.run_id,
            )
            model = DeploymentModel(client, self.adapter, plan.model.thinking, plan.model.stop_token_ids)
            try:
                await monitor.start()
                view.set_live_status(monitor.live_line)
                probe: str | None = None
                for name, samples in todo.items():
                    if plan.job(name).spec.mode == LOGLIKELIHOOD_MODE:
                        probe = probe or await probe_loglikelihood(model)
                        if probe != PROBE_PASSED:
                            self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", probe))
                            view.note(f"[red]✗ {plan.key}/{name}: {probe}")
                            continue
                    await self._evaluate_dataset(plan, server, model, monitor, name, samples, view)
            finally:
                view.set_live_status(None)
                await monitor.stop()
                log.info("%s: performance monitor %s", plan.key, monitor.status())

    def _container_probe(self, server: Deployment) -> ContainerProbe | None:
        """The server's Docker container, for its stats and its processes' GPU memory; None elsewhere."""
        engine = getattr(self.provider, "engine", None)  # the container lifecycle, where there is one
        if server.container is None or engine is None:
            return None
        probe: ContainerProbe | None = engine.container_probe(server.container)
        return probe

    async def _evaluate_dataset(
        self,
        plan: DeploymentPlan,
        server: Deployment,
        model: DeploymentModel,
        monitor: LivePerformanceMonitor,
        name: str,
        samples: list[Sample],
        view: DeploymentDisplay,
    ) -> None:
        task = plan.job(name).spec
        combo = Combination(
            run_id=self.run_id,
            model=plan.model.key,
            model_id=plan.model.hub_id,
            preset=plan.preset.name,
            engine=plan.engine,
            task=task,
            samples=samples,
            fingerprint=self._served_fingerprint(plan, server, name, samples),
            serving=plan.serving.record(),
            requested=plan.job(name).samples,
            revision=self.revision,
        )
        try:
            record, predictions = await evaluate_combination(
                combo,
                model=model,
                server=server,
                monitor=monitor,
                results=self.results,
                progress=view,
                resume=self.options.resume,
                limit=model.client.limit,
                sandbox=self.sandbox,
            )
        except Exception as exc:  # one dataset's failure never stops the next (a full disk stops them all)
            cause = full_disk_cause(exc)
            if cause is not None:
                self.reporter.note_disk_full(cause)
                raise disk_full_error(self.results.base_dir, cause) from None
            if server.lost.is_set():
                raise
            message = self._failure(combo.key, exc, view)
            self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", message))
            return
        if record.status == "partial":
            view.note(f"[yellow]{combo.key}: partial: {record.reason}")
        path = self.results.detailed_metrics_path(plan.model.key, plan.preset.name, name)
        self._record(Outcome(plan.model.key, plan.preset.name, name, record.status, record.reason, str(path)))
        if self.options.repeat_subset and record.status != "failed":
            await self._ask_again(combo, record, predictions, model, view)

    async def _ask_again(
        self,
        combo: Combination,
        record: CombinationRecord,
        predictions: list[PredictionRow],
        model: DeploymentModel,
        view: DeploymentDisplay,
    ) -> None:
        """--repeat-subset: the noise floor; a failure here is a warning, never the combination's."""
        concurrency = repeat_concurrency(model.client.limit.ceiling)
        try:
            asked, changed = await ask_again(
                combo, record, predictions, model, self.results, self.options.repeat_subset, concurrency
            )
        except Exception as exc:
            log.exception("%s: asking again failed", combo.key)
            view.warn(f"[yellow]{combo.key}: the repeated samples failed ({exc}); no noise floor")
            return
        view.note(f"{combo.key}: {asked} samples asked again at concurrency {concurrency}, {changed} changed")


def _ready_line(server: Deployment) -> str:
    if server.ready_s is None:
        return f"using the server at {server.base_url}"
    return f"ready in {server.ready_s:.1f} s"


def _is_complete(stored: CombinationRecord | None, fingerprint: str) -> bool:
    """A stored record of the same fingerprint whose requests were all answered."""
    return stored is not None and stored.fingerprint == fingerprint and stored.status == "complete"
