"""The sweep: deployments placed on GPU slots, several at once, their combinations evaluated, every outcome
recorded by this process.

Each deployment is sized to the GPUs it needs (`slots`) and the scheduler (`schedule`) starts it when they are
free, biggest first; each has its own container, client, monitor (its own GPUs), logs and checkpoints. Two
deployments of a model that is not in the model cache never load it at once: the second waits in the queue
until the first is ready. Where deployments come from is a provider's business (a container, a local
simulator process, an endpoint); the runner only watches `lost`: when a server dies, its work in flight is
cancelled within seconds, its remaining combinations are recorded failed with the reason, and its GPUs go to
the next deployment. One run holds a results folder at a time; every answer is checkpointed as it arrives.
Cancelling the run (Ctrl-C, SIGTERM) cancels every deployment, and each removes its container.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
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
from evalclient.hardware import Gpu
from evalclient.logs import run_logging
from evalclient.model_cache import model_dir
from evalclient.monitor import LivePerformanceMonitor, probe_gpus
from evalclient.monitor.container import ContainerProbe, DockerContainerProbe
from evalclient.planning import DeploymentPlan, Plan
from evalclient.preflight import require_image_cuda
from evalclient.repeats import ask_again, repeat_concurrency
from evalclient.results import CombinationRecord, ResultsOrganizer, combination_fingerprint
from evalclient.results.lock import RunLock
from evalclient.sandbox import choose_sandbox
from evalclient.schedule import Scheduler
from evalclient.slots import GpuPool, Sizing, Slot, real_pool, sweep_jobs
from evalclient.sweep_view import DeploymentView, SweepView
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
    virtual_gpus: GpuPool | None = None
    """Stand-in GPUs (`--gpus virtual:…`): real slots and schedule, no device in the containers."""


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
    """Runs a Plan: one deployment per model × preset on its GPU slot, every dataset against it."""

    def __init__(
        self,
        config: Config,
        plan: Plan,
        options: RunOptions,
        view: SweepView | None = None,
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
        self.view = view or SweepView(enabled=False)
        self.summary = RunSummary(self.run_id)
        self.adapter = get_adapter(plan.engine)
        self.provider = provider or make_provider(options, self.results, self.adapter.health_path)
        self.sandbox = choose_sandbox(config.sweep.sandbox, run_id=self.run_id)
        self.pool = GpuPool()
        self.sizing: dict[str, Sizing] = {}
        self.unfit: dict[str, str] = {}
        """Deployments that cannot run on the GPUs, and why: refused (recorded failed), never started."""
        self._loading: dict[str, str] = {}
        """Model → the deployment loading its weights into the empty model cache: the model's others wait."""
        self._cached: set[str] = set()
        self._manifest: dict[str, Any] = {}

    def prepare(self) -> None:
        """Check the provider before any work (an unreachable Docker engine is a one-line error), remove the
        containers of runs that died, find the GPUs (with real ones: stop when the image needs a newer CUDA
        than the driver), and size every deployment on them."""
        self.provider.prepare()
        for name in getattr(self.provider, "reaped", ()):
            self.view.warn(f"[yellow]removed {name}: left by an evalclient run that died")
        self.size(self._gpu_pool())

    def _gpu_pool(self) -> GpuPool:
        if self.options.endpoint:
            return GpuPool()
        if self.options.virtual_gpus is not None:
            return self.options.virtual_gpus
        if not self.options.gpus:
            return GpuPool()
        engine = getattr(self.provider, "engine", None)
        if not isinstance(engine, DockerEngine):  # simulator processes: the GPUs only name the slots
            return GpuPool(tuple(Gpu(i, "unknown", None, None) for i in self.options.gpus), virtual=True)
        probe = probe_gpus()
        image = self.plan.image or self.adapter.default_image
        require_image_cuda(image, self.plan.engine, probe, engine.image_env(image))
        return real_pool(self.options.gpus, probe)

    def size(self, pool: GpuPool) -> None:
        """Give each deployment its number of GPUs of `pool`; note the ones that cannot run on it."""
        self.pool = pool
        self.sizing, _ = sweep_jobs(self.adapter, self.plan.deployments, pool)
        for key, sizing in self.sizing.items():
            if sizing.reason is not None:
                self.unfit[key] = f"{sizing.reason}; nothing was started"
                self.view.warn(f"[yellow]{self.unfit[key]}")

    async def run(self) -> RunSummary:
        """Run every deployment on its slot; one failing deployment or dataset never stops the others."""
        with (
            RunLock(self.results.base_dir, self.run_id),
            run_logging(self.results.base_dir / "logs", self.run_id),
        ):
            self._start_manifest()
            self.view.expect(
                {
                    f"{d.model.key}/{d.preset.name}/{job.name}": job.samples
                    for d in self.plan.deployments
                    for job in d.datasets
                }
            )
            try:
                with self.view.showing():
                    await self._run_all()
            finally:
                self._manifest["finished_at"] = _now()
                done = len(self.summary.outcomes) == self.plan.combinations
                self._manifest["status"] = "finished" if done else "interrupted"
                self.results.save_manifest(self._manifest)
        return self.summary

    async def _run_all(self) -> None:
        """Start deployments as their GPUs free up, until every one has ended."""
        if not self.sizing:
            self.size(self.pool)
        by_key = {d.key: d for d in self.plan.deployments}
        for key, reason in self.unfit.items():
            self._fail_remaining(by_key[key], reason)
        _, jobs = sweep_jobs(
            self.adapter, [d for d in self.plan.deployments if d.key not in self.unfit], self.pool
        )
        scheduler = Scheduler(jobs, max(len(self.pool.gpus), 1))
        events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            while scheduler.pending or scheduler.running:
                now = (time.monotonic() - started) / 60
                placed = scheduler.start_now(
                    now,
                    hold=lambda job: job.model in self._loading,
                    on_start=lambda job: self._claim_download(by_key[job.key]),
                )
                if not placed and not scheduler.running:  # never: a held model is one being loaded
                    placed = scheduler.start_now(now)
                for placement in placed:
                    deployment = by_key[placement.job.key]
                    run = self._run_deployment(deployment, self._slot(placement.gpus), events)
                    group.create_task(run).add_done_callback(_tell_done(events, deployment.key))
                kind, key = await events.get()
                if kind == "done":
                    scheduler.finish(key)

    def _slot(self, positions: tuple[int, ...]) -> Slot:
        if not self.pool.gpus:
            return Slot()
        return Slot(tuple(self.pool.gpus[i].index for i in positions), self.pool.virtual)

    def _shards(self, plan: DeploymentPlan) -> int:
        sizing = self.sizing.get(plan.key)
        return sizing.shards or 1 if sizing is not None else 1

    async def _run_deployment(
        self, plan: DeploymentPlan, slot: Slot, events: asyncio.Queue[tuple[str, str]]
    ) -> None:
        view = self.view.deployment(plan.key, slot.label)
        try:
            samples = await self._load_samples(plan)
            image = self.plan.image or self.adapter.default_image
            image_id = await asyncio.to_thread(self.provider.image_id, image)
            todo = self._incomplete(plan, samples, image_id, view)
            if not todo:
                return
            shards = self._shards(plan)
            view.stage(f"starting {image}" + (f", tensor-parallel over {shards} GPUs" if shards > 1 else ""))
            self._deployment_event(plan, "started_at", slot)
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
                    self._release_download(plan, events, loaded=True)
                    self._deployment_event(plan, "ready_at")
                    view.stage(_ready_line(server))
                    await self._serve(plan, server, todo, view)
            finally:
                self._release_download(plan, events, loaded=False)
                self._deployment_event(plan, "ended_at")
        except Exception as exc:
            self._fail_remaining(plan, self._failure(plan.key, exc, view))
        finally:
            self._release_download(plan, events, loaded=False)
            view.finish(self._ended_line(plan))

    def _ended_line(self, plan: DeploymentPlan) -> str:
        ours = [o for o in self.summary.outcomes if (o.model, o.preset) == (plan.model.key, plan.preset.name)]
        counts: dict[str, int] = {}
        for outcome in ours:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return "ended: " + (", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing run")

    def _claim_download(self, plan: DeploymentPlan) -> None:
        """Placed: when its model is not in the cache yet, this deployment loads it and others of the model
        wait in the queue until it is ready."""
        cache = self.options.model_cache
        key = plan.model.key
        if cache is None or key in self._cached:
            return
        if (model_dir(cache, plan.model.hub_id) / "snapshots").is_dir():
            self._cached.add(key)
            return
        self._loading[key] = plan.key

    def _release_download(
        self, plan: DeploymentPlan, events: asyncio.Queue[tuple[str, str]], *, loaded: bool
    ) -> None:
        """Ready (the weights are in the cache) or ended: the model's other deployments may start."""
        if self._loading.get(plan.model.key) != plan.key:
            return
        del self._loading[plan.model.key]
        if loaded:
            self._cached.add(plan.model.key)
        events.put_nowait(("loaded", plan.key))

    def _spec_for(self, plan: DeploymentPlan) -> Any:
        shards = self._shards(plan)
        return lambda port: self.adapter.launch_spec(
            plan.model, plan.preset, port=port, image=self.plan.image, shards=shards
        )

    async def _serve(
        self, plan: DeploymentPlan, server: Deployment, todo: dict[str, list[Sample]], view: DeploymentView
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

    def _failure(self, where: str, exc: Exception, view: DeploymentView) -> str:
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
        view: DeploymentView,
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
                view.note(f"[dim]↷ {plan.key}/{name}: complete in {path.name}, skipped")
                continue
            todo[name] = loaded
        return todo

    def _fingerprint(
        self, plan: DeploymentPlan, image_id: str | None, task: TaskSpec, samples: list[Sample]
    ) -> str:
        spec = self._spec_for(plan)(0)
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
        self, plan: DeploymentPlan, server: Deployment, todo: dict[str, list[Sample]], view: DeploymentView
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
                engine=self.plan.engine,
                metrics_url=server.base_url + self.adapter.metrics_path,
                session=client.session,
                gpu_indices=list(slot.gpus) if slot is not None and not slot.virtual else [],
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
        view: DeploymentView,
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
                progress=view,
                resume=self.options.resume,
                limit=model.client.limit,
                sandbox=self.sandbox,
            )
        except Exception as exc:  # one dataset's failure never stops the next
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
            await self._ask_again(combo, record, model, view)

    async def _ask_again(
        self, combo: Combination, record: CombinationRecord, model: DeploymentModel, view: DeploymentView
    ) -> None:
        """--repeat-subset: the noise floor; a failure here is a warning, never the combination's."""
        concurrency = repeat_concurrency(model.client.limit.ceiling)
        try:
            asked, changed = await ask_again(
                combo, record, model, self.results, self.options.repeat_subset, concurrency
            )
        except Exception as exc:
            log.exception("%s: asking again failed", combo.key)
            view.warn(f"[yellow]{combo.key}: the repeated samples failed ({exc}); no noise floor")
            return
        view.note(f"{combo.key}: {asked} samples asked again at concurrency {concurrency}, {changed} changed")

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
            "gpus": {"ids": list(self.pool.ids), "virtual": self.pool.virtual},
            "plan": [
                {
                    "model": d.model.key,
                    "preset": d.preset.name,
                    "datasets": {j.name: j.samples for j in d.datasets},
                    "gpus_needed": self._shards(d) if d.key not in self.unfit else None,
                }
                for d in self.plan.deployments
            ],
            "deployments": {},
            "combinations": {},
        }
        self.results.save_manifest(self._manifest)

    def _deployment_event(self, plan: DeploymentPlan, event: str, slot: Slot | None = None) -> None:
        """When a deployment started, was ready and ended, and on which GPUs, in the manifest."""
        entry = self._manifest.setdefault("deployments", {}).setdefault(plan.key, {})
        if slot is not None:
            entry.update(gpus=list(slot.gpus), virtual_gpus=slot.virtual, shards=self._shards(plan))
        entry[event] = datetime.now(UTC).isoformat(timespec="milliseconds")
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
        self.view.combination_finished(key, outcome.status)


def _tell_done(events: asyncio.Queue[tuple[str, str]], key: str) -> Callable[[asyncio.Task[None]], None]:
    """The done-callback that tells the scheduling loop a deployment ended (however it ended)."""
    return lambda _: events.put_nowait(("done", key))


def _ready_line(server: Deployment) -> str:
    if server.ready_s is None:
        return f"using the server at {server.base_url}"
    return f"ready in {server.ready_s:.1f} s"


def _is_complete(stored: CombinationRecord | None, fingerprint: str) -> bool:
    """A stored record of the same fingerprint whose requests were all answered."""
    return stored is not None and stored.fingerprint == fingerprint and stored.status == "complete"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
