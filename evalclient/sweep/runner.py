"""The sweep: deployments placed on GPUs, several at once, their combinations evaluated, every outcome
recorded by this process.

The runner sizes each deployment to the GPUs it needs and hands the runnable ones to its `Backend`: this
host's GPU slots (`LocalSlots`: a scheduler starts each deployment when its GPUs are free, biggest first) or
the nodes of a Ray cluster (`evalclient.cluster.ray_runner`). Each deployment has its own container, client,
monitor (its own GPUs), logs and checkpoints, and tells what happened to the `SweepReporter`, which keeps the
summary and the manifest (`ManifestAuthor`). Two deployments of a model that is not in the model cache never
load it at once (`DownloadGate`): the second waits in the queue until the first is ready. Where deployments
come from is a provider's business (a container, a local simulator process, an endpoint); the runner only
watches `lost`: when a server dies, its work in flight is cancelled within seconds, its remaining
combinations are recorded failed with the reason, and its GPUs go to the next deployment. One run holds a
results folder at a time; every answer is checkpointed as it arrives. Cancelling the run (Ctrl-C, SIGTERM)
cancels every deployment, and each removes its container.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from evalclient.config import Config
from evalclient.deploy.container import ContainerProvider
from evalclient.deploy.deployment import Provider
from evalclient.deploy.docker_engine import ContainerEngine, DockerEngine
from evalclient.deploy.endpoint import EndpointProvider
from evalclient.deploy.local_engine import LocalSimulatorEngine
from evalclient.deploy.model_cache import model_dir
from evalclient.engines import get_adapter
from evalclient.errors import DiskFullError, GPUUnavailableError
from evalclient.host.preflight import require_image_cuda
from evalclient.monitor import probe_gpus
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning.hardware import Gpu
from evalclient.planning.plan import DeploymentPlan, Plan
from evalclient.planning.schedule import Job, Placement, Scheduler
from evalclient.planning.slots import GpuPool, Sizing, Slot, real_pool, sweep_jobs
from evalclient.results import ResultsOrganizer
from evalclient.results.disk_full import disk_full_error
from evalclient.results.lock import RunLock
from evalclient.results.manifest import (
    GpuPoolEntry,
    Manifest,
    ManifestAuthor,
    NodeEntry,
    PlanEntry,
    RunStatus,
)
from evalclient.sandbox import choose_sandbox
from evalclient.sweep.deployment_run import DeploymentRun, RunContext
from evalclient.sweep.logs import quiet_file_logging, run_logging
from evalclient.sweep.run_types import Outcome, RunOptions
from evalclient.sweep.view import SweepView
from evalclient.tasks import DatasetManager

__all__ = [
    "Backend",
    "DownloadGate",
    "EvaluationRunner",
    "LocalSlots",
    "Outcome",
    "RunOptions",
    "RunSummary",
    "Sweep",
    "SweepReporter",
    "make_provider",
]
log = logging.getLogger("evalclient.sweep.runner")


@dataclass
class RunSummary:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        """Every combination that is not complete (partial or failed): each makes the exit code 1."""
        return [o for o in self.outcomes if o.status in ("partial", "failed")]


def make_provider(options: RunOptions, results: ResultsOrganizer, engine_kind: str) -> Provider:
    """An endpoint (spoken to as `engine_kind`), local simulator processes, or Docker containers."""
    if options.endpoint:
        adapter = get_adapter(engine_kind)
        return EndpointProvider(options.endpoint, adapter.health_path, adapter.info_paths)
    engine = LocalSimulatorEngine() if options.local_simulator else DockerEngine()
    return ContainerProvider(
        engine,
        gpus=list(options.gpus) or None,
        cache_dir=options.model_cache,
        ready_timeout_s=options.ready_timeout_s,
        memory_limit=options.memory_limit,
        results_dir=results.base_dir,
    )


class SweepReporter:
    """The `deployment_run.Reporter` of the process that owns the results tree: an outcome goes into the
    summary, the manifest and the view, an event into the manifest; a full disk stops the run (said once)."""

    def __init__(
        self, summary: RunSummary, results: ResultsOrganizer, view: SweepView, shards: Callable[[str], int]
    ) -> None:
        self.summary = summary
        self.base_dir = results.base_dir
        self.view = view
        self.shards = shards
        self.manifest = ManifestAuthor(results.manifest_path(), self.note_disk_full)
        self.disk_full: DiskFullError | None = None
        """Set when the disk under the results filled up: the run stops and says so once."""

    def outcome(self, outcome: Outcome) -> None:
        self.summary.outcomes.append(outcome)
        key = f"{outcome.model}/{outcome.preset}/{outcome.dataset}"
        self.manifest.combination(key, outcome.status, outcome.error, outcome.metrics_file)
        self.view.combination_finished(key, outcome.status)

    def event(self, key: str, event: str, slot: Slot | None = None) -> None:
        """When a deployment started, was ready and ended, and on which GPUs, in the manifest."""
        if slot is not None:
            self.manifest.placed(key, slot.gpus, slot.virtual, self.shards(key))
        self.manifest.event(key, event)

    def weights_loaded(self, deployment: DeploymentPlan, loaded: bool) -> None:
        """Nothing waits for it here (`LocalSlots` tells its `DownloadGate`)."""

    def note_disk_full(self, cause: OSError) -> None:
        """The disk under the results is full: remembered once, said once (the run stops)."""
        if self.disk_full is None:
            self.disk_full = disk_full_error(self.base_dir, cause)
            quiet_file_logging()

    def fail_remaining(self, plan: DeploymentPlan, error: str) -> None:
        """Every combination of the deployment without an outcome yet fails with `error`."""
        done = {(o.model, o.preset, o.dataset) for o in self.summary.outcomes}
        for job in plan.datasets:
            if (plan.model.key, plan.preset.name, job.name) not in done:
                self.outcome(Outcome(plan.model.key, plan.preset.name, job.name, "failed", error))


@dataclass(frozen=True)
class Sweep:
    """What a backend runs the deployments with: the run's shared context, its view and reporter, the GPUs
    they were sized on and each one's size."""

    context: RunContext
    view: SweepView
    reporter: SweepReporter
    pool: GpuPool
    sizing: Mapping[str, Sizing]

    def shards(self, key: str) -> int:
        return _shards(self.sizing, key)


class Backend(Protocol):
    """Where a run's deployments go: this host's GPU slots (`LocalSlots`) or the nodes of a Ray cluster
    (`cluster.ray_runner.RayNodes`)."""

    name: str
    """The manifest's `backend`."""

    def prepare(self, view: SweepView) -> GpuPool:
        """Check that deployments can start there; the GPUs to size them on (blocking)."""
        ...

    def cluster(self) -> list[NodeEntry] | None:
        """The nodes the run uses, for the manifest (None: this host)."""
        ...

    async def run(self, sweep: Sweep, deployments: list[DeploymentPlan]) -> None:
        """Run every deployment (each one's failure recorded through `sweep.reporter`) until all ended."""
        ...


class EvaluationRunner:
    """Runs a Plan: one deployment per model × preset, sized to its GPUs and run by the `backend`, every
    dataset against it; the `reporter` records what happened."""

    def __init__(
        self,
        config: Config,
        plan: Plan,
        options: RunOptions,
        view: SweepView | None = None,
        provider: Provider | None = None,
        backend: Backend | None = None,
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
        self.provider = provider or make_provider(options, self.results, plan.engine)
        self.backend = backend or LocalSlots(options, self.provider, self._require_cuda)
        self.reporter = SweepReporter(self.summary, self.results, self.view, self._shards)
        self.sandbox = choose_sandbox(config.sweep.sandbox, run_id=self.run_id)
        self.pool = GpuPool()
        self.sizing: dict[str, Sizing] = {}
        self.unfit: dict[str, str] = {}
        """Deployments that cannot run on the GPUs, and why: refused (recorded failed), never started."""

    def prepare(self) -> None:
        """Check the backend before any work (an unreachable Docker engine, a cluster that is not there: a
        one-line error), find its GPUs and size every deployment on them."""
        self.size(self.backend.prepare(self.view))

    def _require_cuda(self, probe: GpuProbe, engine: ContainerEngine) -> None:
        """Stop when the run's image needs a newer CUDA than the driver; an image a model is routed to that
        does fails only that model's deployments."""
        main = self.plan.image or get_adapter(self.plan.engine).default_image
        require_image_cuda(main, self.plan.engine, probe, engine.image_env(main))
        for kind, image in self.plan.images:
            try:
                require_image_cuda(image, kind, probe, engine.image_env(image))
            except GPUUnavailableError as exc:
                for deployment in self.plan.deployments:
                    if deployment.image == image:
                        self.unfit[deployment.key] = f"{deployment.key}: {exc}; nothing was started"
                        self.view.warn(f"[yellow]{self.unfit[deployment.key]}")

    def size(self, pool: GpuPool) -> None:
        """Give each deployment its number of GPUs of `pool`; note the ones that cannot run on it, and the
        ones their engine image cannot start (the capability table's refusals)."""
        self.pool = pool
        self.sizing, _ = sweep_jobs(self.plan.deployments, pool)
        known = set(self.unfit)
        for deployment in self.plan.deployments:
            refusal = deployment.serving.refusal
            if not deployment.serving.starts and refusal is not None:
                self.unfit.setdefault(deployment.key, f"{deployment.key}: {refusal}; nothing was started")
        for key, sizing in self.sizing.items():
            if sizing.reason is not None:
                self.unfit.setdefault(key, f"{sizing.reason}; nothing was started")
        for key, reason in self.unfit.items():
            if key not in known:
                self.view.warn(f"[yellow]{reason}")

    async def run(self) -> RunSummary:
        """Run every deployment; one failing deployment or dataset never stops the others."""
        with (
            RunLock(self.results.base_dir, self.run_id),
            run_logging(self.results.base_dir / "logs", self.run_id),
        ):
            self.reporter.manifest.start(self._new_manifest())
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
                self._close_manifest()
        if self.reporter.disk_full is not None:
            raise self.reporter.disk_full
        return self.summary

    async def _run_all(self) -> None:
        """Record the deployments that cannot run as failed; the backend runs the others."""
        if not self.sizing:
            self.size(self.pool)
        by_key = {d.key: d for d in self.plan.deployments}
        for key, reason in self.unfit.items():
            self.reporter.fail_remaining(by_key[key], reason)
        runnable = [d for d in self.plan.deployments if d.key not in self.unfit]
        await self.backend.run(self._sweep(), runnable)

    def _sweep(self) -> Sweep:
        context = RunContext(
            self.config,
            self.plan,
            self.options,
            self.run_id,
            self.results,
            self.datasets,
            self.provider,
            self.sandbox,
        )
        return Sweep(context, self.view, self.reporter, self.pool, self.sizing)

    def _shards(self, key: str) -> int:
        return _shards(self.sizing, key)

    def _new_manifest(self) -> Manifest:
        return Manifest(
            run_id=self.run_id,
            started_at=_now(),
            finished_at=None,
            status="running",
            backend=self.backend.name,
            engine=self.plan.engine,
            image=self.plan.image or get_adapter(self.plan.engine).default_image,
            endpoint=self.options.endpoint,
            config_dir=str(self.config.directory),
            gpus=GpuPoolEntry(ids=list(self.pool.ids), virtual=self.pool.virtual),
            plan=[self._plan_entry(d) for d in self.plan.deployments],
            cluster=self.backend.cluster(),
        )

    def _plan_entry(self, deployment: DeploymentPlan) -> PlanEntry:
        return PlanEntry.model_validate(
            {
                "model": deployment.model.key,
                "preset": deployment.preset.name,
                "datasets": {j.name: j.samples for j in deployment.datasets},
                "gpus_needed": self._shards(deployment.key) if deployment.key not in self.unfit else None,
                **deployment.serving.record(),
            }
        )

    def _close_manifest(self) -> None:
        done = len(self.summary.outcomes) == self.plan.combinations
        full = self.reporter.disk_full
        status: RunStatus = "failed" if full is not None else "finished" if done else "interrupted"
        self.reporter.manifest.close(status, None if full is None else full.message)


class LocalSlots:
    """The backend of one host: each deployment on a slot of the host's GPUs (or of stand-ins), started by a
    scheduler when its GPUs are free, biggest first; a model's deployments wait while one of them downloads
    it (`DownloadGate`)."""

    def __init__(
        self,
        options: RunOptions,
        provider: Provider,
        require_cuda: Callable[[GpuProbe, ContainerEngine], None],
    ) -> None:
        self.name = options.backend
        self.options = options
        self.provider = provider
        self.require_cuda = require_cuda

    def prepare(self, view: SweepView) -> GpuPool:
        """Check the provider (remove the containers of runs that died) and find the GPUs: with real ones,
        stop when the image needs a newer CUDA than the driver."""
        self.provider.prepare()
        warn_reaped(self.provider, view.warn)
        return self._pool()

    def _pool(self) -> GpuPool:
        if self.options.endpoint:
            return GpuPool()
        if self.options.virtual_gpus is not None:
            return self.options.virtual_gpus
        if not self.options.gpus:
            return GpuPool()
        engine: ContainerEngine | None = getattr(self.provider, "engine", None)
        if engine is None or not engine.host_gpus:  # simulator processes: the GPUs only name the slots
            return GpuPool(tuple(Gpu(i, "unknown", None, None) for i in self.options.gpus), virtual=True)
        probe = probe_gpus()
        self.require_cuda(probe, engine)
        return real_pool(self.options.gpus, probe)

    def cluster(self) -> None:
        return None

    async def run(self, sweep: Sweep, deployments: list[DeploymentPlan]) -> None:
        """Start deployments as their GPUs free up, until every one has ended."""
        _, jobs = sweep_jobs(deployments, sweep.pool)
        scheduler = Scheduler(jobs, max(len(sweep.pool.gpus), 1))
        slots = _SlotRun(sweep, {d.key: d for d in deployments}, self.options.model_cache)
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            while scheduler.pending or scheduler.running:
                now = (time.monotonic() - started) / 60
                placed = scheduler.start_now(now, hold=slots.held, on_start=slots.claim)
                if not placed and not scheduler.running:  # never: a held model is one being loaded
                    placed = scheduler.start_now(now)
                for placement in placed:
                    slots.start(group, placement)
                kind, key = await slots.events.get()
                if kind == "done":
                    scheduler.finish(key)


class _SlotRun:
    """One run of `LocalSlots`: starts each placed deployment on its slot and hears when one ended or
    loaded its model."""

    def __init__(self, sweep: Sweep, by_key: dict[str, DeploymentPlan], cache: Path | None) -> None:
        self.sweep = sweep
        self.by_key = by_key
        self.events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.gate = DownloadGate(cache, lambda key: self.events.put_nowait(("loaded", key)))
        self.reporter = _GatedReporter(sweep.reporter, self.gate)

    def held(self, job: Job) -> bool:
        return self.gate.held(job.model)

    def claim(self, job: Job) -> None:
        self.gate.claim(self.by_key[job.key])

    def start(self, group: asyncio.TaskGroup, placement: Placement) -> None:
        sweep, deployment = self.sweep, self.by_key[placement.job.key]
        full = sweep.reporter.disk_full
        if full is not None:  # nothing more can be written: nothing more starts
            sweep.reporter.fail_remaining(deployment, full.message)
            self.events.put_nowait(("done", deployment.key))
            return
        slot = _slot(sweep.pool, placement.gpus)
        view = sweep.view.deployment(deployment.key, slot.label)
        shards = sweep.shards(deployment.key)
        run = DeploymentRun(sweep.context, deployment, slot, shards, view, self.reporter).run()
        group.create_task(run).add_done_callback(_tell_done(self.events, deployment.key))


class DownloadGate:
    """A model that is not in the model cache is loaded by one deployment at a time: the first placed loads
    it, the model's others wait in the queue until it is ready (or ended)."""

    def __init__(self, cache: Path | None, on_release: Callable[[str], None]) -> None:
        self.cache = cache
        self.on_release = on_release
        self._loading: dict[str, str] = {}
        """Model → the deployment loading its weights into the empty model cache."""
        self._cached: set[str] = set()

    def held(self, model: str) -> bool:
        """Whether the model's deployments wait (another one is loading it)."""
        return model in self._loading

    def claim(self, plan: DeploymentPlan) -> None:
        """Placed: when its model is not in the cache yet, this deployment loads it."""
        key = plan.model.key
        if self.cache is None or key in self._cached:
            return
        if (model_dir(self.cache, plan.model.hub_id) / "snapshots").is_dir():
            self._cached.add(key)
            return
        self._loading[key] = plan.key

    def release(self, deployment: DeploymentPlan, loaded: bool) -> None:
        """Ready (the weights are in the cache) or ended: the model's other deployments may start."""
        if self._loading.get(deployment.model.key) != deployment.key:
            return
        del self._loading[deployment.model.key]
        if loaded:
            self._cached.add(deployment.model.key)
        self.on_release(deployment.key)


class _GatedReporter:
    """The sweep's reporter, with the weights' arrival told to the download gate."""

    def __init__(self, reporter: SweepReporter, gate: DownloadGate) -> None:
        self.reporter = reporter
        self.gate = gate

    def outcome(self, outcome: Outcome) -> None:
        self.reporter.outcome(outcome)

    def event(self, key: str, event: str, slot: Slot | None = None) -> None:
        self.reporter.event(key, event, slot)

    def weights_loaded(self, deployment: DeploymentPlan, loaded: bool) -> None:
        self.gate.release(deployment, loaded)

    def note_disk_full(self, cause: OSError) -> None:
        self.reporter.note_disk_full(cause)


def warn_reaped(provider: Provider, warn: Callable[[str], None]) -> None:
    """Say which containers of dead runs the provider's `prepare` removed."""
    for name in getattr(provider, "reaped", ()):
        warn(f"[yellow]removed {name}: left by an evalclient run that died")


def _shards(sizing: Mapping[str, Sizing], key: str) -> int:
    found = sizing.get(key)
    return found.shards or 1 if found is not None else 1


def _slot(pool: GpuPool, positions: tuple[int, ...]) -> Slot:
    if not pool.gpus:
        return Slot()
    return Slot(tuple(pool.gpus[i].index for i in positions), pool.virtual)


def _tell_done(events: asyncio.Queue[tuple[str, str]], key: str) -> Callable[[asyncio.Task[None]], None]:
    """The done-callback that tells the scheduling loop a deployment ended (however it ended)."""
    return lambda _: events.put_nowait(("done", key))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
