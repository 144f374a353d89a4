"""The sweep: run each deployment of a plan, isolate failures, and record every combination's outcome."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalclient.client import ServerClient
from evalclient.config import Config
from evalclient.engines import LaunchSpec, get_adapter
from evalclient.engines.docker import RUN_LABEL, ContainerEngine, DockerEngine, free_port
from evalclient.engines.lifecycle import Deployment, deployed, fetch_info
from evalclient.engines.local import LocalSimulatorEngine
from evalclient.engines.model import DeploymentModel
from evalclient.errors import EvalClientError
from evalclient.logs import run_logging
from evalclient.monitor import LivePerformanceMonitor
from evalclient.planning import DeploymentPlan, Plan
from evalclient.progress import Progress
from evalclient.results import CombinationRecord, ResultsOrganizer, SampleError, combination_fingerprint
from evalclient.results.record import Status
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.base import Sample, SampleOutput, ScoreResult, TaskSpec
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.solving import solve_samples

log = logging.getLogger("evalclient.runner")


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan; from the CLI and sweep.yaml."""

    output: Path
    endpoint: str | None = None
    gpus: tuple[int, ...] = ()
    data_dir: Path | None = None
    data_files: dict[str, Path] = field(default_factory=dict)
    seed: int = 1234
    concurrency: int = 32
    request_timeout_s: float = 600
    max_retries: int = 5
    retry_wait_s: float = 0.5
    ready_timeout_s: float = 1800
    resume: bool = True
    local_simulator: bool = False


@dataclass
class Outcome:
    """What became of one combination."""

    model: str
    preset: str
    dataset: str
    status: str  # complete | partial | failed | skipped (complete from an earlier run)
    error: str | None = None
    metrics_file: str | None = None


@dataclass
class RunSummary:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        """Every combination that is not complete (partial or failed): each makes the exit code 1."""
        return [o for o in self.outcomes if o.status in ("partial", "failed")]


class EvaluationRunner:
    """Runs a Plan: one container per deployment, every dataset against it, results into the tree."""

    def __init__(
        self, config: Config, plan: Plan, options: RunOptions, progress: Progress | None = None
    ) -> None:
        self.config = config
        self.plan = plan
        self.options = options
        self.run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        self.results = ResultsOrganizer(options.output)
        self.datasets = DatasetManager(
            options.data_dir, self.results.datasets_cache, options.seed, data_files=options.data_files
        )
        self.progress = progress or Progress(enabled=False)
        self.summary = RunSummary(self.run_id)
        self.adapter = get_adapter(plan.engine)
        self._docker: DockerEngine | None = None
        self._local = LocalSimulatorEngine() if options.local_simulator else None
        self._manifest: dict[str, Any] = {}

    async def run(self) -> RunSummary:
        """Run every deployment in turn; one failing deployment or dataset never stops the others."""
        with run_logging(self.results.base_dir / "logs", self.run_id):
            self._start_manifest()
            try:
                for deployment in self.plan.deployments:
                    await self._run_deployment(deployment)
            finally:
                self._manifest["finished_at"] = _now()
                self._manifest["status"] = (
                    "finished" if len(self.summary.outcomes) == self.plan.combinations else "interrupted"
                )
                self.results.save_manifest(self._manifest)
        return self.summary

    def engine(self) -> ContainerEngine:
        """Where containers run: the Docker engine, or local simulator processes in the fallback."""
        return self._local if self._local is not None else self.docker()

    def docker(self) -> DockerEngine:
        if self._docker is None:
            self._docker = DockerEngine()
            _ = self._docker.client  # connect now: an unreachable engine is reported before any work
        return self._docker

    async def _run_deployment(self, plan: DeploymentPlan) -> None:
        try:
            samples = await self._load_samples(plan)
            spec = self.adapter.launch_spec(plan.model, plan.preset, port=free_port(), image=self.plan.image)
            image_id = await asyncio.to_thread(self._image_id, spec.image)
            todo = self._incomplete(plan, samples, spec, image_id)
            if not todo:
                return
            async with self._server(plan, spec) as server:
                await self._evaluate_on(plan, spec, server, todo)
        except Exception as exc:
            self._fail_remaining(plan, self._failure(plan.key, exc))

    def _failure(self, where: str, exc: Exception) -> str:
        """Log a failure (with its traceback when it is not one of ours) and return its message."""
        if isinstance(exc, EvalClientError):
            log.error("%s failed: %s", where, exc)
            message = str(exc)
        else:  # a bug or an unexpected library error: keep the traceback in the log, go on with the sweep
            log.exception("%s failed unexpectedly", where)
            message = f"unexpected {type(exc).__name__}: {exc} (traceback in logs/model_evaluation/)"
        self.progress.note(f"[red]✗ {where}: {message.splitlines()[0]}")
        return message

    async def _load_samples(self, plan: DeploymentPlan) -> dict[str, list[Sample] | EvalClientError]:
        loaded: dict[str, list[Sample] | EvalClientError] = {}
        for job in plan.datasets:
            try:
                loaded[job.name] = await asyncio.to_thread(
                    self.datasets.get_evaluation_samples, job.name, job.samples
                )
            except EvalClientError as exc:
                loaded[job.name] = exc
        return loaded

    def _image_id(self, image: str) -> str | None:
        if self.options.endpoint or self._local is not None:
            return None
        try:
            return str(self.docker().client.images.get(image).id)
        except EvalClientError:
            raise
        except Exception:  # not pulled yet: the fingerprint cannot match a stored one
            return None

    def _incomplete(
        self,
        plan: DeploymentPlan,
        samples: dict[str, list[Sample] | EvalClientError],
        spec: LaunchSpec,
        image_id: str | None,
    ) -> dict[str, list[Sample]]:
        """Datasets still to run; load failures and combinations already complete are recorded."""
        todo: dict[str, list[Sample]] = {}
        for name, loaded in samples.items():
            if isinstance(loaded, EvalClientError):
                self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", str(loaded)))
                continue
            missing = get_task(name).request_kinds - self.adapter.request_kinds
            if missing:
                kinds = ", ".join(sorted(str(k) for k in missing))
                message = f"{self.plan.engine} cannot serve {name}'s {kinds} requests; nothing was sent"
                self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", message))
                continue
            fingerprint = self._fingerprint(plan, spec, image_id, name, loaded)
            stored = self.results.load_combination(plan.model.key, plan.preset.name, name)
            if self.options.resume and _is_complete(stored, fingerprint):
                path = self.results.detailed_metrics_path(plan.model.key, plan.preset.name, name)
                self._record(Outcome(plan.model.key, plan.preset.name, name, "skipped", None, str(path)))
                self.progress.note(f"[dim]↷ {plan.key}/{name}: complete in {path.name}, skipped")
                continue
            todo[name] = loaded
        return todo

    def _fingerprint(
        self, plan: DeploymentPlan, spec: LaunchSpec, image_id: str | None, name: str, samples: list[Sample]
    ) -> str:
        return combination_fingerprint(
            model_id=plan.model.hub_id,
            model_revision=plan.model.revision,
            launch_args=spec.args,
            image=self.options.endpoint or spec.image,
            image_id=image_id,
            dataset_revision=self.datasets.dataset_fingerprint(name),
            sample_ids=[s.id for s in samples],
        )

    @asynccontextmanager
    async def _server(self, plan: DeploymentPlan, spec: LaunchSpec) -> AsyncIterator[Deployment]:
        if self.options.endpoint:
            yield Deployment(
                base_url=self.options.endpoint.rstrip("/"), info=await fetch_info(self.options.endpoint)
            )
            return
        self.progress.note(f"starting {plan.key}: {spec.image}")
        labels = {
            RUN_LABEL: self.run_id,
            "evalclient.model": plan.model.key,
            "evalclient.preset": plan.preset.name,
        }
        async with deployed(
            self.engine(),
            spec,
            name=f"evalclient-{plan.key.replace('.', '-')}-{self.run_id[-6:]}",
            labels=labels,
            gpus=list(self.options.gpus) or None,
            cache_dir=self.results.models_cache,
            ready_timeout_s=self.options.ready_timeout_s,
            log_path=self.results.log_path("model_evaluation", f"{plan.key}_container"),
        ) as server:
            self.progress.note(f"{plan.key} ready in {server.ready_s:.1f} s")
            yield server

    async def _evaluate_on(
        self, plan: DeploymentPlan, spec: LaunchSpec, server: Deployment, todo: dict[str, list[Sample]]
    ) -> None:
        model_name = plan.model.hub_id
        async with ServerClient(
            server.base_url,
            protocols=self.adapter.protocols(),
            model=model_name,
            concurrency=self.options.concurrency,
            request_timeout_s=self.options.request_timeout_s,
            max_retries=self.options.max_retries,
            retry_wait_s=self.options.retry_wait_s,
        ) as client:
            monitor = LivePerformanceMonitor(
                engine=self.plan.engine,
                metrics_url=server.base_url + "/metrics",
                session=client.session,
                gpu_indices=list(self.options.gpus),
                max_batch_total_tokens=await self._batch_budget(plan, server),
            )
            try:
                await monitor.start()
                image_id = server.container.image_id if server.container and not self._local else None
                for name, samples in todo.items():
                    fingerprint = self._fingerprint(plan, spec, image_id, name, samples)
                    try:
                        await self._evaluate_dataset(
                            plan, server, client, monitor, name, samples, fingerprint
                        )
                    except Exception as exc:  # one dataset's failure never stops the next
                        message = self._failure(f"{plan.key}/{name}", exc)
                        self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", message))
            finally:
                await monitor.stop()
                self.results.save_performance_samples(
                    plan.model.key, plan.preset.name, monitor.samples_rows()
                )

    async def _batch_budget(self, plan: DeploymentPlan, server: Deployment) -> int | None:
        logs = ""
        if server.container is not None:
            logs = await asyncio.to_thread(self.engine().logs, server.container.id)
        return self.adapter.kv_budget(logs, server.info, plan.preset.max_batch_total_tokens)

    async def _evaluate_dataset(
        self,
        plan: DeploymentPlan,
        server: Deployment,
        client: ServerClient,
        monitor: LivePerformanceMonitor,
        name: str,
        samples: list[Sample],
        fingerprint: str,
    ) -> None:
        task = get_task(name)
        model = DeploymentModel(client, self.adapter, plan.model.thinking)
        with self.progress.task(f"{plan.key} {name}", total=len(samples)) as advance, monitor.window(name):
            outputs = await solve_samples(task, samples, model, on_done=lambda _o: advance())
        by_id = {o.sample_id: o for o in outputs}
        failed = [o for o in outputs if not o.ok]
        status, reason = _status(outputs, failed)
        score = ScoreResult(metrics={})
        if status != "failed":
            score = await task.scorer(samples, by_id, ScoreContext()) if task.scorer else score
        completions = [c for o in outputs for c in o.completions]
        performance = monitor.performance_metrics(name, completions)
        stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
        rows = [prediction_row(o, score.per_sample.get(o.sample_id, {})) for o in outputs]
        views = self.results.save_predictions(plan.model.key, plan.preset.name, name, rows, stamp)
        record = self._combination_record(plan, server, task, samples, fingerprint, stamp, failed)
        record.status, record.reason = status, reason
        record.dataset_metrics = score.metrics
        record.performance_metrics = {**performance.metrics, "time_to_ready_s": server.ready_s}
        record.performance_unavailable = {**performance.unavailable, **_ready_reason(server)}
        record.predictions_file = str(views[0].relative_to(self.results.base_dir))
        path = self.results.save_combination(record)
        logging.getLogger("evalclient.dataset").info(
            "%s/%s: %s, %d samples, %d errors, metrics %s",
            plan.key,
            name,
            status,
            len(samples),
            len(failed),
            score.metrics,
        )
        if status == "partial":
            self.progress.note(f"[yellow]{plan.key}/{name}: partial: {reason}")
        self._record(Outcome(plan.model.key, plan.preset.name, name, status, reason, str(path)))

    def _combination_record(
        self,
        plan: DeploymentPlan,
        server: Deployment,
        task: TaskSpec,
        samples: list[Sample],
        fingerprint: str,
        stamp: str,
        failed: list[SampleOutput],
    ) -> CombinationRecord:
        errors = [
            SampleError(id=o.sample_id, kind=str(f.kind), message=f.message)
            for o in failed
            if (f := o.failure) is not None
        ]
        return CombinationRecord(
            run_id=self.run_id,
            model=plan.model.key,
            model_id=plan.model.hub_id,
            preset=plan.preset.name,
            dataset=task.name,
            engine=self.plan.engine,
            status="complete",
            timestamp=stamp,
            fingerprint=fingerprint,
            num_samples=len(samples),
            num_errors=len(failed),
            errors=errors,
            request_parameters=task.request_parameters(),
            provenance=server.provenance(),
        )

    def _fail_remaining(self, plan: DeploymentPlan, error: str) -> None:
        done = {(o.model, o.preset, o.dataset) for o in self.summary.outcomes}
        for job in plan.datasets:
            if (plan.model.key, plan.preset.name, job.name) not in done:
                self._record(Outcome(plan.model.key, plan.preset.name, job.name, "failed", error))

    def _start_manifest(self) -> None:
        self._manifest = {
            "run_id": self.run_id,
            "started_at": _now(),
            "finished_at": None,
            "status": "running",
            "engine": self.plan.engine,
            "image": self.plan.image or self.adapter.default_image,
            "endpoint": self.options.endpoint,
            "config_dir": str(self.config.directory),
            "plan": [
                {
                    "model": d.model.key,
                    "preset": d.preset.name,
                    "datasets": {j.name: j.samples for j in d.datasets},
                }
                for d in self.plan.deployments
            ],
            "combinations": {},
        }
        self.results.save_manifest(self._manifest)

    def _record(self, outcome: Outcome) -> None:
        self.summary.outcomes.append(outcome)
        key = f"{outcome.model}/{outcome.preset}/{outcome.dataset}"
        self._manifest["combinations"][key] = {
            "status": outcome.status,
            "error": outcome.error,
            "metrics_file": outcome.metrics_file,
            "at": _now(),
        }
        self.results.save_manifest(self._manifest)


def _ready_reason(server: Deployment) -> dict[str, str]:
    if server.ready_s is not None:
        return {}
    return {"time_to_ready_s": "the server was already running (--endpoint)"}


def _is_complete(stored: CombinationRecord | None, fingerprint: str) -> bool:
    """A stored record of the same fingerprint whose requests were all answered."""
    return stored is not None and stored.fingerprint == fingerprint and stored.status == "complete"


def _status(outputs: list[SampleOutput], failed: list[SampleOutput]) -> tuple[Status, str | None]:
    """complete (every sample answered), partial (some errored) or failed (none answered), with why."""
    if not failed:
        return "complete", None
    first = failed[0].failure
    what = f"the first: {first}" if first else ""
    if len(failed) == len(outputs):
        return "failed", f"all {len(outputs)} samples failed; {what}"
    return (
        "partial",
        f"{len(failed)} of {len(outputs)} samples failed (scored as wrong; rerun to retry them); {what}",
    )


def prediction_row(output: SampleOutput, verdict: dict[str, Any]) -> dict[str, Any]:
    """One predictions line: the answer as sent, its verdict, and every completion in full."""
    final = output.final
    answered = final is not None and final.ok
    failure = output.failure
    return {
        "id": output.sample_id,
        "response": final.text if answered and final is not None else None,
        "reasoning": final.reasoning if answered and final is not None else None,
        "tool_calls": [c.as_dict() for c in final.tool_calls] if answered and final is not None else [],
        "finish_reason": final.finish_reason if final is not None else None,
        "error": None if failure is None else failure.as_dict(),
        "score": verdict,
        "completions": [c.as_dict() for c in output.completions],
        "solver_error": None if output.error is None else output.error.as_dict(),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
