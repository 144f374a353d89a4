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
import json
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evalclient.config import Config
from evalclient.deploy.container import ContainerProvider
from evalclient.deploy.deployment import Provider
from evalclient.deploy.docker_engine import DockerEngine
from evalclient.deploy.endpoint import EndpointProvider
from evalclient.deploy.local_engine import LocalSimulatorEngine
from evalclient.engines import get_adapter
from evalclient.errors import DiskFullError, EvalClientError, GPUUnavailableError
from evalclient.host.model_cache import model_dir
from evalclient.host.preflight import require_image_cuda
from evalclient.monitor import probe_gpus
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning.hardware import Gpu
from evalclient.planning.plan import DeploymentPlan, Plan
from evalclient.planning.schedule import Scheduler
from evalclient.planning.slots import GpuPool, Sizing, Slot, real_pool, sweep_jobs
from evalclient.results import ResultsOrganizer
from evalclient.results.disk_full import disk_full_error, full_disk_cause, write_in_place
from evalclient.results.lock import RunLock
from evalclient.sandbox import choose_sandbox
from evalclient.sweep.deployment_run import DeploymentRun, RunContext
from evalclient.sweep.logs import quiet_file_logging, run_logging
from evalclient.sweep.run_types import Outcome, RunOptions
from evalclient.sweep.view import SweepView
from evalclient.tasks import DatasetManager

__all__ = ["EvaluationRunner", "Outcome", "RunOptions", "RunSummary", "make_provider"]
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
        self.provider = provider or make_provider(options, self.results, plan.engine)
        self.sandbox = choose_sandbox(config.sweep.sandbox, run_id=self.run_id)
        self.pool = GpuPool()
        self.sizing: dict[str, Sizing] = {}
        self.unfit: dict[str, str] = {}
        """Deployments that cannot run on the GPUs, and why: refused (recorded failed), never started."""
        self._loading: dict[str, str] = {}
        """Model → the deployment loading its weights into the empty model cache: the model's others wait."""
        self._cached: set[str] = set()
        self._manifest: dict[str, Any] = {}
        self._events: asyncio.Queue[tuple[str, str]] | None = None
        self.disk_full: DiskFullError | None = None
        """Set when the disk under the results filled up: the run stops and says so once."""

    def prepare(self) -> None:
        """Check the provider before any work (an unreachable Docker engine is a one-line error), remove the
        containers of runs that died, find the GPUs (with real ones: stop when the image needs a newer CUDA
        than the driver), and size every deployment on them."""
        self.provider.prepare()
        warn_reaped(self.provider, self.view.warn)
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
        self._require_cuda(probe, engine)
        return real_pool(self.options.gpus, probe)

    def _require_cuda(self, probe: GpuProbe, engine: DockerEngine) -> None:
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
                if self.disk_full is not None:
                    self._manifest["status"] = "failed"
                    self._manifest["error"] = self.disk_full.message
                self._save_manifest(closing=True)
        if self.disk_full is not None:
            raise self.disk_full
        return self.summary

    def _save_manifest(self, closing: bool = False) -> None:
        """Write the manifest; on a full disk note it (the run stops) and keep the manifest in memory; the
        closing write falls back to overwriting the file in place, compactly, when no new file fits."""
        try:
            self.results.save_manifest(self._manifest)
            return
        except (OSError, EvalClientError) as exc:
            cause = full_disk_cause(exc)
            if cause is None:
                raise
            self.note_disk_full(cause)
        if closing:
            with suppress(OSError):
                data = json.dumps(self._manifest, separators=(",", ":"), default=str).encode()
                write_in_place(self.results.manifest_path(), data + b"\n")

    def note_disk_full(self, cause: OSError) -> None:
        """The disk under the results is full: remembered once, said once (the run stops)."""
        if self.disk_full is None:
            self.disk_full = disk_full_error(self.results.base_dir, cause)
            quiet_file_logging()

    async def _run_all(self) -> None:
        """Start deployments as their GPUs free up, until every one has ended."""
        if not self.sizing:
            self.size(self.pool)
        by_key = self._fail_unfit()
        _, jobs = sweep_jobs([d for d in self.plan.deployments if d.key not in self.unfit], self.pool)
        scheduler = Scheduler(jobs, max(len(self.pool.gpus), 1))
        events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._events = events
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
                    deployment, slot = by_key[placement.job.key], self._slot(placement.gpus)
                    if self.disk_full is not None:  # nothing more can be written: nothing more starts
                        self._fail_remaining(deployment, self.disk_full.message)
                        events.put_nowait(("done", deployment.key))
                        continue
                    view = self.view.deployment(deployment.key, slot.label)
                    shards = self._shards(deployment.key)
                    run = DeploymentRun(context, deployment, slot, shards, view, self).run()
                    group.create_task(run).add_done_callback(_tell_done(events, deployment.key))
                kind, key = await events.get()
                if kind == "done":
                    scheduler.finish(key)

    def _fail_unfit(self) -> dict[str, DeploymentPlan]:
        """Record the deployments that cannot run on the GPUs as failed; every deployment by key."""
        by_key = {d.key: d for d in self.plan.deployments}
        for key, reason in self.unfit.items():
            self._fail_remaining(by_key[key], reason)
        return by_key

    def _slot(self, positions: tuple[int, ...]) -> Slot:
        if not self.pool.gpus:
            return Slot()
        return Slot(tuple(self.pool.gpus[i].index for i in positions), self.pool.virtual)

    def _shards(self, key: str) -> int:
        sizing = self.sizing.get(key)
        return sizing.shards or 1 if sizing is not None else 1

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

    # -- the Reporter a DeploymentRun tells what happened (deployment_run.Reporter) --------------------------

    def weights_loaded(self, deployment: DeploymentPlan, loaded: bool) -> None:
        """Ready (the weights are in the cache) or ended: the model's other deployments may start."""
        if self._loading.get(deployment.model.key) != deployment.key:
            return
        del self._loading[deployment.model.key]
        if loaded:
            self._cached.add(deployment.model.key)
        if self._events is not None:
            self._events.put_nowait(("loaded", deployment.key))

    def event(self, key: str, event: str, slot: Slot | None = None) -> None:
        """When a deployment started, was ready and ended, and on which GPUs, in the manifest."""
        entry = self._manifest.setdefault("deployments", {}).setdefault(key, {})
        if slot is not None:
            entry.update(gpus=list(slot.gpus), virtual_gpus=slot.virtual, shards=self._shards(key))
        entry[event] = datetime.now(UTC).isoformat(timespec="milliseconds")
        self._save_manifest()

    def outcome(self, outcome: Outcome) -> None:
        self._record(outcome)

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
            "backend": self.options.backend,
            "engine": self.plan.engine,
            "image": self.plan.image or get_adapter(self.plan.engine).default_image,
            "endpoint": self.options.endpoint,
            "config_dir": str(self.config.directory),
            "gpus": {"ids": list(self.pool.ids), "virtual": self.pool.virtual},
            "plan": [
                {
                    "model": d.model.key,
                    "preset": d.preset.name,
                    "datasets": {j.name: j.samples for j in d.datasets},
                    "gpus_needed": self._shards(d.key) if d.key not in self.unfit else None,
                    **d.serving.record(),
                }
                for d in self.plan.deployments
            ],
            "deployments": {},
            "combinations": {},
        }
        self._save_manifest()

    def _record(self, outcome: Outcome) -> None:
        self.summary.outcomes.append(outcome)
        key = f"{outcome.model}/{outcome.preset}/{outcome.dataset}"
        self._manifest["combinations"][key] = {
            "status": outcome.status,
            "error": outcome.error,
            "metrics_file": outcome.metrics_file,
            "at": _now(),
        }
        self._save_manifest()
        self.view.combination_finished(key, outcome.status)


def warn_reaped(provider: Provider, warn: Callable[[str], None]) -> None:
    """Say which containers of dead runs the provider's `prepare` removed."""
    for name in getattr(provider, "reaped", ()):
        warn(f"[yellow]removed {name}: left by an evalclient run that died")


def _tell_done(events: asyncio.Queue[tuple[str, str]], key: str) -> Callable[[asyncio.Task[None]], None]:
    """The done-callback that tells the scheduling loop a deployment ended (however it ended)."""
    return lambda _: events.put_nowait(("done", key))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
