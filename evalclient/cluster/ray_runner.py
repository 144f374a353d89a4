"""The driver of a sweep on a Ray cluster (`--backend ray`): Ray places the deployments, this process alone
writes the results tree. `RayNodes` is the runner's backend there (`ray_runner` builds that runner).

Each runnable deployment gets a placement group of one bundle holding the GPUs it needs, so a tensor-parallel
deployment's GPUs are always on one node, and an actor (`node.NodeDeployment`) in it; Ray starts them as
GPUs free up, biggest first as submitted. Every actor streams batches back: the driver writes their file
changes into the results tree (checkpoints as they grow), then records outcomes and events in the manifest
and shows the view's messages. A node that dies fails its deployments' remaining combinations with the
reason; the others go on; a rerun resumes from the driver's checkpoints. A node that cannot start containers
(its Docker engine is down) refuses the deployment: the driver takes the node out of this run (placement
groups exclude it by its `ray.io/node-id` label) and places the deployment again; a deployment that no live
usable node can hold any more fails with why instead of waiting forever. Cancelling the driver asks every
actor to stop (each removes its container), takes their last batches, then kills the actors.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

from evalclient.cluster.forwarding import ViewReplay
from evalclient.cluster.node import Batch, NodeJob, remote_class
from evalclient.cluster.ray_cluster import (
    ClusterNode,
    cluster_nodes,
    connect,
    live_gpu_counts,
    require_gpus,
    sizing_pool,
)
from evalclient.cluster.samples import LoadedSamples
from evalclient.cluster.tree_sync import apply_ops, collect
from evalclient.config import Config
from evalclient.errors import ClusterError, UsageError, first_line
from evalclient.planning.plan import DeploymentPlan, Plan
from evalclient.planning.slots import GpuPool
from evalclient.results.manifest import NodeEntry
from evalclient.sweep.run_types import RunOptions
from evalclient.sweep.runner import EvaluationRunner, Sweep
from evalclient.sweep.view import SweepView

log = logging.getLogger("evalclient.sweep.runner")
STOP_GRACE_S = 120.0
"""How long a stopping deployment may take to remove its container and send its last answers."""
PLACEMENT_CHECK_S = 5.0
"""While a deployment waits for its GPUs, how often the driver checks that a node could still hold it."""
NODE_ID_LABEL = "ray.io/node-id"


def ray_runner(
    config: Config, plan: Plan, options: RunOptions, view: SweepView | None = None
) -> EvaluationRunner:
    """An EvaluationRunner whose deployments run on the nodes of a Ray cluster (`RayNodes`)."""
    if options.endpoint or options.local_simulator:
        raise UsageError("--backend ray starts engine containers on the cluster's nodes", "drop --endpoint")
    return EvaluationRunner(
        config, plan, options, view, provider=_NoLocalProvider(), backend=RayNodes(options)
    )


RayRunner = ray_runner
"""The name the CLI builds the cluster's runner by."""


class RayNodes:
    """The backend of a Ray cluster: each deployment in a placement group of its GPUs on one node, run there
    by an actor whose batches this driver applies to the results tree."""

    name = "ray"

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.nodes: list[ClusterNode] = []
        self.unusable: dict[str, str] = {}
        """Nodes that cannot start containers, by Ray id: why, in a line."""

    def prepare(self, view: SweepView) -> GpuPool:
        """Join the cluster and find its nodes; the pool to size deployments on (its smallest GPU)."""
        connect(self.options.ray_address)
        self.nodes = cluster_nodes(self.options.virtual_gpus)
        require_gpus(self.nodes)
        for node in self.nodes:
            log.info("cluster node %s: %s", node.node_id, node.describe())
        return sizing_pool(self.nodes)

    def cluster(self) -> list[NodeEntry]:
        return [
            NodeEntry(node_id=n.node_id, address=n.address, gpus=n.gpu_count, virtual=n.pool.virtual)
            for n in self.nodes
        ]

    async def run(self, sweep: Sweep, deployments: list[DeploymentPlan]) -> None:
        runnable = sorted(deployments, key=lambda d: -sweep.shards(d.key))  # Ray places in submission order
        actor_class = remote_class()
        async with asyncio.TaskGroup() as group:
            for deployment in runnable:
                group.create_task(self._remote(sweep, actor_class, deployment))

    async def _remote(self, sweep: Sweep, actor_class: Any, deployment: DeploymentPlan) -> None:
        """One deployment on the cluster: placed on a node that can hold it, again elsewhere while the node it
        lands on cannot start containers (a refusing node ran nothing, so the job stays the same)."""
        job = await asyncio.to_thread(_job, sweep, deployment)
        while True:
            group = await self._place(sweep, deployment, job.shards)
            if group is None:
                return
            refused = await self._run_in(sweep, group, actor_class, job)
            if refused is None:
                return
            self._unusable(sweep, *refused)

    async def _place(self, sweep: Sweep, deployment: DeploymentPlan, shards: int) -> Any | None:
        """A placement group of the deployment's GPUs on one usable node, once Ray has reserved them; None
        (the deployment failed) when no live usable node has that many GPUs any more."""
        from ray.util.placement_group import placement_group, remove_placement_group

        excluded = ",".join(sorted(self.unusable))
        group = placement_group(
            [{"GPU": shards}],
            strategy="STRICT_PACK",
            name=f"{sweep.context.run_id}-{deployment.key}",
            bundle_label_selector=[{NODE_ID_LABEL: f"!in({excluded})"}] if excluded else None,
        )
        ready = asyncio.wrap_future(group.ready().future())
        placed = False
        try:
            while not (await asyncio.wait({ready}, timeout=PLACEMENT_CHECK_S))[0]:
                if not await asyncio.to_thread(self._could_hold, shards):
                    self._no_node_left(sweep, deployment, shards)
                    return None
            ready.result()
            placed = True
        except Exception as exc:
            fail(sweep, deployment, f"Ray could not reserve its GPUs ({describe(exc)})")
            return None
        finally:
            if not placed:
                ready.cancel()
                with suppress(Exception):
                    remove_placement_group(group)
        return group

    async def _run_in(
        self, sweep: Sweep, group: Any, actor_class: Any, job: NodeJob
    ) -> tuple[str, str, str] | None:
        """Run the deployment's actor in `group` until its stream ends; the node's refusal, if it refused."""
        import ray
        from ray.util.placement_group import remove_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        actor = actor_class.options(
            num_cpus=0,
            num_gpus=job.shards,
            max_concurrency=4,
            scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=0),
        ).remote()
        stream = actor.run.options(num_returns="streaming").remote(job)
        remote = _Remote(sweep, job.deployment)
        try:
            try:
                await remote.follow(stream)
            except asyncio.CancelledError:
                await remote.stop(actor, stream)
                raise
            except ray.exceptions.RayError as exc:
                remote.lost(exc)
            except Exception as exc:  # a bug on the driver's side: this deployment fails, the sweep goes on
                log.exception("%s: following the remote deployment failed", job.deployment.key)
                remote.lost(exc, "following this deployment failed")
        finally:
            remote.close()
            with suppress(Exception):
                ray.kill(actor)
            with suppress(Exception):
                remove_placement_group(group)
        return remote.refused

    def _could_hold(self, shards: int) -> bool:
        """Whether a live node that can start containers has `shards` GPUs (blocking: asks Ray)."""
        return any(
            gpus >= shards for node_id, gpus in live_gpu_counts().items() if node_id not in self.unusable
        )

    def _unusable(self, sweep: Sweep, address: str, node_id: str, reason: str) -> None:
        """A node cannot start containers: no deployment is placed there again in this run."""
        if node_id not in self.unusable:
            self.unusable[node_id] = f"node {address} ({node_id[:6]}) cannot start containers: {reason}"
            log.error("%s; its deployments go to the other nodes", self.unusable[node_id])
            sweep.view.warn(f"[red]✗ {self.unusable[node_id]}; its deployments go to the other nodes")
            sweep.reporter.manifest.unusable(node_id, address, reason)

    def _no_node_left(self, sweep: Sweep, deployment: DeploymentPlan, shards: int) -> None:
        why = "; ".join(self.unusable.values()) or "a node was lost"
        fail(
            sweep,
            deployment,
            f"no live node of the cluster that can start containers has the {shards} GPU(s) it needs ({why})",
        )


def fail(sweep: Sweep, deployment: DeploymentPlan, reason: str) -> None:
    """The deployment's remaining combinations fail with `reason`, logged and shown."""
    log.error("%s: %s", deployment.key, reason)
    sweep.reporter.fail_remaining(deployment, reason)
    sweep.view.warn(f"[red]✗ {deployment.key}: {reason}")


def _job(sweep: Sweep, deployment: DeploymentPlan) -> NodeJob:
    """What the node needs: the samples, and the driver's files of the deployment's combinations."""
    context = sweep.context
    results = context.results
    paths = []
    for job in deployment.datasets:
        key = (deployment.model.key, deployment.preset.name, job.name)
        paths += [
            results.checkpoint_path(*key),
            results.detailed_metrics_path(*key),
            results.repeats_path(*key),
            results.judgments_path(*key),
        ]
    return NodeJob(
        config=context.config,
        plan=context.plan,
        options=context.options,
        run_id=context.run_id,
        deployment=deployment,
        shards=sweep.shards(deployment.key),
        samples=LoadedSamples.load(context.datasets, deployment),
        files=collect(results.base_dir, paths),
        virtual_gpus=context.options.virtual_gpus is not None,
    )


class _Remote:
    """The driver's side of one remote deployment: applies its batches, shows it, records its end."""

    def __init__(self, sweep: Sweep, deployment: DeploymentPlan) -> None:
        self.sweep = sweep
        self.deployment = deployment
        self.replay: ViewReplay | None = None
        self.node: str | None = None
        self.refused: tuple[str, str, str] | None = None
        """(address, node id, why) when the node cannot start containers and ran nothing."""

    async def follow(self, stream: Any) -> None:
        async for ref in stream:
            await self.apply(await ref)

    async def apply(self, batch: Batch) -> None:
        reporter = self.sweep.reporter
        if self.replay is None:
            self.node = batch.where.split(" ", 1)[0]
            self.replay = ViewReplay(self.sweep.view.deployment(self.deployment.key, batch.where))
        await asyncio.to_thread(apply_ops, self.sweep.context.results.base_dir, batch.files)
        for message in batch.messages:
            kind = message[0]
            if kind == "outcome":
                reporter.outcome(message[1])
            elif kind == "event":
                key, event, slot, address, node_id = message[1:]
                reporter.manifest.on_node(key, address, node_id)
                reporter.event(key, event, slot)
            elif kind == "refused":
                self.refused = (message[1], message[2], message[3])
            else:
                self.replay.apply(message)

    async def stop(self, actor: Any, stream: Any) -> None:
        """Ask the actor to stop and take its last batches (its answers so far), for at most STOP_GRACE_S."""
        import ray

        with suppress(Exception):
            actor.stop.remote()
        try:
            async with asyncio.timeout(STOP_GRACE_S):
                await self.follow(stream)
        except (TimeoutError, ray.exceptions.RayError):
            log.warning("%s: the node did not confirm its stop", self.deployment.key)

    def lost(self, exc: Exception, what: str = "the cluster lost this deployment") -> None:
        """The actor or its node died: the deployment's remaining combinations fail with the reason."""
        where = f"on node {self.node}" if self.node else "before it was placed"
        fail(self.sweep, self.deployment, f"{what} {where} ({describe(exc)})")

    def close(self) -> None:
        if self.replay is not None:
            self.replay.end("ended: the node is gone")


def describe(exc: Exception) -> str:
    """`Type: first line of the message` (at most 300 characters of it)."""
    return f"{type(exc).__name__}: {first_line(exc)[:300]}"


class _NoLocalProvider:
    """The driver starts nothing itself: every deployment runs on a node."""

    reaped: tuple[str, ...] = ()

    def prepare(self) -> None:
        return None

    def image_id(self, image: str) -> str | None:
        return None

    def deploy(self, *args: Any, **kwargs: Any) -> Any:
        raise ClusterError("the driver of a Ray sweep starts no deployment itself")
