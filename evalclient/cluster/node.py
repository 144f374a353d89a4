"""The node side of a cluster sweep: one deployment, run by a Ray actor on the node that holds its GPUs.

The actor runs the same `DeploymentRun` as one host does, against the node's own Docker engine, with the GPU
ids Ray assigned (none for virtual GPUs), sampling the node's NVML. It writes into a scratch results tree
seeded with the driver's checkpoints and records of its combinations ($EVALCLIENT_SCRATCH, else the temp
folder), and streams batches back: the file changes since the last batch, then the view's and reporter's
messages, at most every `BATCH_EVERY_S` and at once when a combination ends. The scratch tree is removed when
it ends. A node whose Docker engine cannot be used refuses the deployment (a message with the reason) instead
of failing it: the driver places it elsewhere. `stop` cancels the deployment (its container is removed by the
provider's `finally`); the stream then ends with the last batch.

The model cache is the node's: when a model is not in it, the first deployment that loads it holds a lock
file in the cache until it is ready, so the model's other deployments on the node wait instead of
downloading it again.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from evalclient.cluster.forwarding import ForwardingReporter, ForwardingView, Message, Outbox
from evalclient.cluster.samples import LoadedSamples
from evalclient.cluster.tree_sync import FileOp, TreeMirror
from evalclient.config import Config
from evalclient.deploy.model_cache import model_dir
from evalclient.errors import first_line
from evalclient.planning.plan import DeploymentPlan, Plan
from evalclient.planning.slots import Slot
from evalclient.results import ResultsOrganizer
from evalclient.sandbox import choose_sandbox
from evalclient.sweep.deployment_run import DeploymentRun, RunContext
from evalclient.sweep.logs import run_logging
from evalclient.sweep.run_types import RunOptions
from evalclient.sweep.runner import make_provider, warn_reaped

log = logging.getLogger("evalclient.cluster")
BATCH_EVERY_S = 0.5
SCRATCH_ENV = "EVALCLIENT_SCRATCH"
"""Where a node keeps its scratch results trees (default: the system's temp folder); in a pod that starts
containers through the host's Docker, a folder mounted at the same path as on the host."""


@dataclass(frozen=True)
class NodeJob:
    """Everything a node needs to run one deployment of the sweep."""

    config: Config
    plan: Plan
    options: RunOptions
    run_id: str
    deployment: DeploymentPlan
    shards: int
    samples: LoadedSamples
    files: dict[str, bytes] = field(default_factory=dict)
    """The driver's files of this deployment's combinations (checkpoints, records), by relative path."""
    virtual_gpus: bool = False


@dataclass(frozen=True)
class Batch:
    """What changed on the node since the previous batch: files first, then messages."""

    files: list[FileOp]
    messages: list[Message]
    where: str
    """The node's address and the deployment's GPUs there, e.g. `10.0.0.7 GPU 2,3`."""


class NodeDeployment:
    """The Ray actor (wrapped by `ray.remote` on the driver) that runs one deployment on its node."""

    def __init__(self) -> None:
        self._work: asyncio.Task[None] | None = None
        self._stopped = False

    def node(self) -> tuple[str, str]:
        """The node's address and Ray id, for the driver's view and manifest."""
        import ray

        address = str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
        return address, str(ray.get_runtime_context().get_node_id())

    async def stop(self) -> None:
        """Cancel the deployment; its stream ends after the container is removed."""
        self._stopped = True
        if self._work is not None:
            self._work.cancel()

    async def run(self, job: NodeJob) -> AsyncIterator[Batch]:
        """Run the deployment, yielding batches until it has ended."""
        import ray

        scratch = Path(
            tempfile.mkdtemp(
                prefix=f"evalclient-{job.run_id}-{job.deployment.key}-", dir=os.environ.get(SCRATCH_ENV)
            )
        )
        outbox = Outbox()
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        outbox.on_put = lambda: _set_soon(loop, wake)
        gpus = tuple(int(g) for g in ray.get_gpu_ids())
        slot = Slot(gpus, job.virtual_gpus)
        view = ForwardingView(outbox)
        cache = node_model_cache(job.options.model_cache)
        download = _DownloadLock(job, cache)
        address, node_id = self.node()
        where = f"{address} {slot.label}"
        reporter = ForwardingReporter(outbox, (address, node_id), on_weights=download.release)
        try:
            mirror = TreeMirror(scratch)
            await asyncio.to_thread(mirror.seed, job.files)
            with run_logging(scratch / "logs", f"{job.run_id}_{job.deployment.key}"):
                options = replace(
                    job.options, output=scratch, gpus=slot.gpus, virtual_gpus=None, model_cache=cache
                )
                deploy = self._deploy(job, options, slot, view, reporter, download)
                self._work = asyncio.create_task(deploy)
                if self._stopped:
                    self._work.cancel()
                while not self._work.done():
                    await _wait(wake, self._work, BATCH_EVERY_S)
                    wake.clear()
                    view.status()
                    yield Batch(await asyncio.to_thread(mirror.changes), outbox.drain(), where)
                with suppress(asyncio.CancelledError):
                    await self._work
            yield Batch(await asyncio.to_thread(mirror.changes), outbox.drain(), where)
        finally:
            if self._work is not None and not self._work.done():
                self._work.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await self._work
            download.release()
            shutil.rmtree(scratch, ignore_errors=True)

    async def _deploy(
        self,
        job: NodeJob,
        options: RunOptions,
        slot: Slot,
        view: ForwardingView,
        reporter: ForwardingReporter,
        download: _DownloadLock,
    ) -> None:
        results = ResultsOrganizer(options.output)
        provider = make_provider(options, results, job.deployment.engine)
        try:
            await asyncio.to_thread(provider.prepare)
        except Exception as exc:  # the node's fault, not the deployment's: the driver places it elsewhere
            reporter.refused(first_line(exc))
            view.finish("ended: this node cannot start containers")
            return
        warn_reaped(provider, view.warn)
        await download.acquire(view)
        context = RunContext(
            job.config,
            job.plan,
            options,
            job.run_id,
            results,
            job.samples,
            provider,
            choose_sandbox(job.config.sweep.sandbox, run_id=job.run_id),
        )
        await DeploymentRun(context, job.deployment, slot, job.shards, view, reporter).run()


def _set_soon(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    loop.call_soon_threadsafe(event.set)


async def _wait(wake: asyncio.Event, work: asyncio.Task[None], seconds: float) -> None:
    """Until a message is queued, the work ends, or `seconds` pass; then another `BATCH_EVERY_S` / 5 so that
    a burst of messages goes in one batch."""
    waiter = asyncio.create_task(wake.wait())
    try:
        await asyncio.wait({waiter, work}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not work.done():
        await asyncio.sleep(BATCH_EVERY_S / 5)


class _DownloadLock:
    """The node-wide lock of a model that is not in the node's model cache yet."""

    def __init__(self, job: NodeJob, cache: Path | None) -> None:
        self.folder = model_dir(cache, job.deployment.model.hub_id) if cache is not None else None
        self.path = cache / ".evalclient-locks" / f"{job.deployment.model.key}.lock" if cache else None
        self._handle: IO[bytes] | None = None

    def _needed(self) -> bool:
        return self.folder is not None and not (self.folder / "snapshots").is_dir()

    async def acquire(self, view: ForwardingView) -> None:
        """Hold the lock while this deployment loads the model; wait while another on the node does."""
        if not self._needed() or self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        waiting = False
        try:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waiting:
                        view.stage("waiting: another deployment on this node is downloading the model")
                        waiting = True
                    await asyncio.sleep(1.0)
        except BaseException:
            handle.close()
            raise
        self._handle = handle
        os.utime(self.path)

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


def node_model_cache(driver_cache: Path | None) -> Path | None:
    """The node's model cache: its own $HF_HOME where set (a pod's mount), else the driver's path; None when
    the run mounts no cache."""
    if driver_cache is None:
        return None
    own = os.environ.get("HF_HOME")
    return Path(own) if own else driver_cache


def remote_class() -> Any:
    """The Ray actor class (Ray imported only here, for `--backend ray`)."""
    import ray

    return ray.remote(NodeDeployment)
