"""The sweep: each deployment of a plan in turn, its combinations evaluated, every outcome recorded.

Where deployments come from is a provider's business (a container, a local simulator process, an endpoint);
the runner only watches `lost`: when the server dies, the work in flight is cancelled within seconds, the
deployment's remaining combinations are recorded failed with the reason, and the sweep goes on. One run
holds a results folder at a time; every answer is checkpointed as it arrives.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalclient.client import ServerClient
from evalclient.combination import Combination, evaluate_combination
from evalclient.config import Config
from evalclient.deploy.container import ContainerProvider
from evalclient.deploy.deployment import Deployment, Provider
from evalclient.deploy.endpoint import EndpointProvider
from evalclient.engines import get_adapter
from evalclient.engines.docker import DockerEngine
from evalclient.engines.local import LocalSimulatorEngine
from evalclient.engines.model import DeploymentModel
from evalclient.errors import EngineError, EvalClientError
from evalclient.hardware import deployment_fit, gpus_of
from evalclient.logs import run_logging
from evalclient.monitor import LivePerformanceMonitor, probe_gpus
from evalclient.monitor.container import ContainerProbe, DockerContainerProbe
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning import DeploymentPlan, Plan
from evalclient.preflight import require_image_cuda
from evalclient.progress import Progress
from evalclient.repeats import ask_again, repeat_concurrency
from evalclient.results import CombinationRecord, ResultsOrganizer, combination_fingerprint
from evalclient.results.lock import RunLock
from evalclient.sandbox import choose_sandbox
from evalclient.tasks import DatasetManager
from evalclient.tasks.base import LOGLIKELIHOOD_MODE, Sample, TaskSpec
from evalclient.tasks.probe import PROBE_PASSED, probe_loglikelihood

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
    concurrency: int | None = None
    """Requests in flight per server; None: what the server takes at once (its /info, else the preset)."""
    request_timeout_s: float = 600
    max_retries: int = 5
    retry_wait_s: float = 0.5
    ready_timeout_s: float = 1800
    resume: bool = True
    local_simulator: bool = False
    memory_limit: str | None = None
    repeat_subset: int = 0
    """Samples of each dataset asked again at another concurrency: the noise floor (evalclient.repeats)."""
    model_cache: Path | None = None
    """The host's Hugging Face cache, mounted into every engine container; None mounts nothing (simulator)."""


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


def make_provider(options: RunOptions, results: ResultsOrganizer, health_path: str) -> Provider:
    """An endpoint, local simulator processes, or Docker containers, as the options say."""
    if options.endpoint:
        return EndpointProvider(options.endpoint, health_path)
    engine = LocalSimulatorEngine() if options.local_simulator else DockerEngine()
    return ContainerProvider(
        engine,
        gpus=list(options.gpus) or None,
        cache_dir=options.model_cache,
        ready_timeout_s=options.ready_timeout_s,
        memory_limit=options.memory_limit,
        results_dir=results.base_dir,
    )


class EvaluationRunner:
    """Runs a Plan: one deployment per model × preset, every dataset against it, results into the tree."""

    def __init__(
        self,
        config: Config,
        plan: Plan,
        options: RunOptions,
        progress: Progress | None = None,
        provider: Provider | None = None,
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
        self.provider = provider or make_provider(options, self.results, self.adapter.health_path)
        self.sandbox = choose_sandbox(config.sweep.sandbox, run_id=self.run_id)
        self.unfit: dict[str, str] = {}
        """Deployments that cannot run on their GPU, and why: refused (recorded failed), never started."""
        self._manifest: dict[str, Any] = {}

    def prepare(self) -> None:
        """Check the provider before any work (an unreachable Docker engine is a one-line error), remove the
        containers of runs that died, and with GPUs: stop when the image needs a newer CUDA than the driver,
        and find the deployments that cannot run on the GPU."""
        self.provider.prepare()
        for name in getattr(self.provider, "reaped", ()):
            self.progress.warn(f"[yellow]removed {name}: left by an evalclient run that died")
        engine = getattr(self.provider, "engine", None)
        if self.options.gpus and isinstance(engine, DockerEngine):
            probe = probe_gpus()
            image = self.plan.image or self.adapter.default_image
            require_image_cuda(image, self.plan.engine, probe, engine.image_env(image))
            self.refuse_unfit(probe)

    def refuse_unfit(self, probe: GpuProbe) -> None:
        """Note each deployment that cannot run on the first GPU it gets (what a single-GPU engine uses)."""
        gpu = next((g for g in gpus_of(probe) if self.options.gpus and g.index == self.options.gpus[0]), None)
        if gpu is None:
            return
        for deployment in self.plan.deployments:
            fit = deployment_fit(self.adapter, deployment, gpu)
            if not fit.runs:
                self.unfit[deployment.key] = f"{deployment.key} {fit.summary}; nothing was started"
                self.progress.warn(f"[yellow]{self.unfit[deployment.key]}")

    async def run(self) -> RunSummary:
        """Run every deployment in turn; one failing deployment or dataset never stops the others."""
        with (
            RunLock(self.results.base_dir, self.run_id),
            run_logging(self.results.base_dir / "logs", self.run_id),
        ):
            self._start_manifest()
            try:
                for deployment in self.plan.deployments:
                    await self._run_deployment(deployment)
            finally:
                self._manifest["finished_at"] = _now()
                done = len(self.summary.outcomes) == self.plan.combinations
                self._manifest["status"] = "finished" if done else "interrupted"
                self.results.save_manifest(self._manifest)
        return self.summary

    async def _run_deployment(self, plan: DeploymentPlan) -> None:
        if plan.key in self.unfit:
            self._fail_remaining(plan, self.unfit[plan.key])
            return
        try:
            samples = await self._load_samples(plan)
            image = self.plan.image or self.adapter.default_image
            image_id = await asyncio.to_thread(self.provider.image_id, image)
            todo = self._incomplete(plan, samples, image_id)
            if not todo:
                return
            self.progress.note(f"starting {plan.key}: {image}")
            log_path = self.results.log_path("model_evaluation", f"{plan.key}_{self.run_id}_container")
            async with self.provider.deploy(
                plan, self._spec_for(plan), run_id=self.run_id, log_path=log_path
            ) as server:
                self.progress.note(_ready_line(plan, server))
                await self._serve(plan, server, todo)
        except Exception as exc:
            self._fail_remaining(plan, self._failure(plan.key, exc))

    def _spec_for(self, plan: DeploymentPlan) -> Any:
        return lambda port: self.adapter.launch_spec(
            plan.model, plan.preset, port=port, image=self.plan.image
        )

    async def _serve(self, plan: DeploymentPlan, server: Deployment, todo: dict[str, list[Sample]]) -> None:
        """Evaluate the datasets until they are done or the server is lost (then EngineError with why)."""
        work = asyncio.create_task(self._evaluate_on(plan, server, todo))
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
                    self.datasets.get_evaluation_samples, job.spec, job.samples
                )
            except EvalClientError as exc:
                loaded[job.name] = exc
        return loaded

    def _incomplete(
        self, plan: DeploymentPlan, samples: dict[str, list[Sample] | EvalClientError], image_id: str | None
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
                message = f"{self.plan.engine} cannot serve {name}'s {kinds} requests; nothing was sent"
                self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", message))
                continue
            fingerprint = self._fingerprint(plan, image_id, task, loaded)
            stored = self.results.load_combination(plan.model.key, plan.preset.name, name)
            if self.options.resume and _is_complete(stored, fingerprint):
                path = self.results.detailed_metrics_path(plan.model.key, plan.preset.name, name)
                self._record(Outcome(plan.model.key, plan.preset.name, name, "skipped", None, str(path)))
                self.progress.note(f"[dim]↷ {plan.key}/{name}: complete in {path.name}, skipped")
                continue
            todo[name] = loaded
        return todo

    def _fingerprint(
        self, plan: DeploymentPlan, image_id: str | None, task: TaskSpec, samples: list[Sample]
    ) -> str:
        spec = self.adapter.launch_spec(plan.model, plan.preset, port=0, image=self.plan.image)
        return combination_fingerprint(
            model_id=plan.model.hub_id,
            model_revision=plan.model.revision,
            launch_args=spec.args,
            image=self.options.endpoint or spec.image,
            image_id=image_id,
            dataset_revision=self.datasets.dataset_fingerprint(task),
            sample_ids=[s.id for s in samples],
            task_parameters=task.request_parameters(),
        )

    async def _evaluate_on(
        self, plan: DeploymentPlan, server: Deployment, todo: dict[str, list[Sample]]
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
            monitor = LivePerformanceMonitor(
                engine=self.plan.engine,
                metrics_url=server.base_url + self.adapter.metrics_path,
                session=client.session,
                gpu_indices=list(self.options.gpus),
                max_batch_total_tokens=self.adapter.kv_budget(
                    server.logs, server.info, plan.preset.max_batch_total_tokens
                ),
                container=self._container_probe(server),
                samples_path=self.results.performance_samples_path(plan.model.key, plan.preset.name),
                run_id=self.run_id,
            )
            model = DeploymentModel(client, self.adapter, plan.model.thinking)
            try:
                await monitor.start()
                self.progress.set_live_status(monitor.live_line)
                probe: str | None = None
                for name, samples in todo.items():
                    if plan.job(name).spec.mode == LOGLIKELIHOOD_MODE:
                        probe = probe or await probe_loglikelihood(model)
                        if probe != PROBE_PASSED:
                            self._record(Outcome(plan.model.key, plan.preset.name, name, "failed", probe))
                            self.progress.note(f"[red]✗ {plan.key}/{name}: {probe}")
                            continue
                    await self._evaluate_dataset(plan, server, model, monitor, name, samples)
            finally:
                self.progress.set_live_status(None)
                await monitor.stop()
                log.info("%s: performance monitor %s", plan.key, monitor.status())

    def _container_probe(self, server: Deployment) -> ContainerProbe | None:
        """The server's Docker container, for its stats and its processes' GPU memory; None elsewhere."""
        engine = getattr(self.provider, "engine", None)
        if server.container is None or not isinstance(engine, DockerEngine):
            return None
        return DockerContainerProbe(engine.client, server.container.id, server.container.name)

    async def _evaluate_dataset(
        self,
        plan: DeploymentPlan,
        server: Deployment,
        model: DeploymentModel,
        monitor: LivePerformanceMonitor,
        name: str,
        samples: list[Sample],
    ) -> None:
        task = plan.job(name).spec
        combo = Combination(
            run_id=self.run_id,
            model=plan.model.key,
            model_id=plan.model.hub_id,
            preset=plan.preset.name,
            engine=self.plan.engine,
            task=task,
            samples=samples,
            fingerprint=self._fingerprint(plan, server.image_id, task, samples),
        )
        try:
            record = await evaluate_combination(
                combo,
                model=model,
                server=server,
                monitor=monitor,
                results=self.results,
                progress=self.progress,
                resume=self.options.resume,
                limit=model.client.limit,
                sandbox=self.sandbox,
            )
        except Exception as exc:  # one dataset's failure never stops the next
            if server.lost.is_set():
                raise
            self._record(
                Outcome(plan.model.key, plan.preset.name, name, "failed", self._failure(combo.key, exc))
            )
            return
        if record.status == "partial":
            self.progress.note(f"[yellow]{combo.key}: partial: {record.reason}")
        path = self.results.detailed_metrics_path(plan.model.key, plan.preset.name, name)
        self._record(Outcome(plan.model.key, plan.preset.name, name, record.status, record.reason, str(path)))
        if self.options.repeat_subset and record.status != "failed":
            await self._ask_again(combo, record, model)

    async def _ask_again(self, combo: Combination, record: CombinationRecord, model: DeploymentModel) -> None:
        """--repeat-subset: the noise floor; a failure here is a warning, never the combination's."""
        concurrency = repeat_concurrency(model.client.limit.ceiling)
        try:
            asked, changed = await ask_again(
                combo, record, model, self.results, self.options.repeat_subset, concurrency
            )
        except Exception as exc:
            log.exception("%s: asking again failed", combo.key)
            self.progress.warn(f"[yellow]{combo.key}: the repeated samples failed ({exc}); no noise floor")
            return
        self.progress.note(
            f"{combo.key}: {asked} samples asked again at concurrency {concurrency}, {changed} changed"
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


def _ready_line(plan: DeploymentPlan, server: Deployment) -> str:
    if server.ready_s is None:
        return f"{plan.key}: using the server at {server.base_url}"
    return f"{plan.key} ready in {server.ready_s:.1f} s"


def _is_complete(stored: CombinationRecord | None, fingerprint: str) -> bool:
    """A stored record of the same fingerprint whose requests were all answered."""
    return stored is not None and stored.fingerprint == fingerprint and stored.status == "complete"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
