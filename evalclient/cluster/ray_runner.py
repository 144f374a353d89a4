"""The driver of a sweep on a Ray cluster (`--backend ray`): Ray places the deployments, this process alone
writes the results tree.

Each runnable deployment gets a placement group of one bundle holding the GPUs it needs, so a tensor-parallel
deployment's GPUs are always on one node, and an actor (`node.NodeDeployment`) in it; Ray starts them as
GPUs free up, biggest first as submitted. Every actor streams batches back: the driver writes their file
changes into the results tree (checkpoints as they grow), then records outcomes and events in the manifest
and shows the view's messages. A node that dies fails its deployments' remaining combinations with the
reason; the others go on; a rerun resumes from the driver's checkpoints. Cancelling the driver asks every
actor to stop (each removes its container), takes their last batches, then kills the actors.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

from evalclient.cluster.forwarding import ViewReplay
from evalclient.cluster.node import Batch, NodeJob, remote_class
from evalclient.cluster.ray_cluster import ClusterNode, cluster_nodes, connect, require_gpus, sizing_pool
from evalclient.cluster.samples import LoadedSamples
from evalclient.cluster.tree_sync import apply_ops, collect
from evalclient.config import Config
from evalclient.errors import ClusterError, UsageError
from evalclient.planning import DeploymentPlan, Plan
from evalclient.run_types import RunOptions
from evalclient.runner import EvaluationRunner
from evalclient.slots import Slot
from evalclient.sweep_view import SweepView

log = logging.getLogger("evalclient.runner")
STOP_GRACE_S = 120.0
"""How long a stopping deployment may take to remove its container and send its last answers."""


class RayRunner(EvaluationRunner):
    """EvaluationRunner whose deployments run on the nodes of a Ray cluster."""

    def __init__(
        self, config: Config, plan: Plan, options: RunOptions, view: SweepView | None = None
    ) -> None:
        if options.endpoint or options.local_simulator:
            raise UsageError(
                "--backend ray starts engine containers on the cluster's nodes", "drop --endpoint"
            )
        super().__init__(config, plan, options, view, provider=_NoLocalProvider())
        self.nodes: list[ClusterNode] = []

    def prepare(self) -> None:
        """Join the cluster, find its nodes and GPUs, size every deployment on them."""
        connect(self.options.ray_address)
        self.nodes = cluster_nodes(self.options.virtual_gpus)
        require_gpus(self.nodes)
        for node in self.nodes:
            log.info("cluster node %s: %s", node.node_id, node.describe())
        self.size(sizing_pool(self.nodes))

    def _start_manifest(self) -> None:
        super()._start_manifest()
        self._manifest["backend"] = "ray"
        self._manifest["cluster"] = [
            {"node_id": n.node_id, "address": n.address, "gpus": n.gpu_count, "virtual": n.pool.virtual}
            for n in self.nodes
        ]

    async def _run_all(self) -> None:
        self._fail_unfit()
        runnable = [d for d in self.plan.deployments if d.key not in self.unfit]
        runnable.sort(key=lambda d: -self._shards(d.key))  # biggest first; Ray places in submission order
        actor_class = remote_class()
        async with asyncio.TaskGroup() as group:
            for deployment in runnable:
                group.create_task(self._remote(actor_class, deployment))

    async def _remote(self, actor_class: Any, deployment: DeploymentPlan) -> None:
        """One deployment on the cluster, from its placement to its actor's end."""
        import ray
        from ray.util.placement_group import placement_group, remove_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        job = await asyncio.to_thread(self._job, deployment)
        shards = job.shards
        group = placement_group(
            [{"GPU": shards}], strategy="STRICT_PACK", name=f"{self.run_id}-{deployment.key}"
        )
        actor = actor_class.options(
            num_cpus=0,
            num_gpus=shards,
            max_concurrency=4,
            scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=0),
        ).remote()
        stream = actor.run.options(num_returns="streaming").remote(job)
        remote = _Remote(self, deployment)
        try:
            try:
                await remote.follow(stream)
            except asyncio.CancelledError:
                await remote.stop(actor, stream)
                raise
            except ray.exceptions.RayError as exc:
                remote.lost(exc)
            except Exception as exc:  # a bug on the driver's side: this deployment fails, the sweep goes on
                log.exception("%s: following the remote deployment failed", deployment.key)
                remote.lost(exc, "following this deployment failed")
        finally:
            remote.close()
            with suppress(Exception):
                ray.kill(actor)
            with suppress(Exception):
                remove_placement_group(group)

    def _job(self, deployment: DeploymentPlan) -> NodeJob:
        """What the node needs: the samples, and the driver's files of the deployment's combinations."""
        results = self.results
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
            config=self.config,
            plan=self.plan,
            options=self.options,
            run_id=self.run_id,
            deployment=deployment,
            shards=self._shards(deployment.key),
            samples=LoadedSamples.load(self.datasets, deployment),
            files=collect(results.base_dir, paths),
            virtual_gpus=self.options.virtual_gpus is not None,
        )

    def node_event(self, key: str, event: str, slot: Slot | None, address: str, node_id: str) -> None:
        """An event of a remote deployment, with the node it runs on (its address and Ray id)."""
        entry = self._manifest.setdefault("deployments", {}).setdefault(key, {})
        entry.update(node=address, node_id=node_id)
        self.event(key, event, slot)


class _Remote:
    """The driver's side of one remote deployment: applies its batches, shows it, records its end."""

    def __init__(self, runner: RayRunner, deployment: DeploymentPlan) -> None:
        self.runner = runner
        self.deployment = deployment
        self.replay: ViewReplay | None = None
        self.node: str | None = None

    async def follow(self, stream: Any) -> None:
        async for ref in stream:
            await self.apply(await ref)

    async def apply(self, batch: Batch) -> None:
        if self.replay is None:
            self.node = batch.where.split(" ", 1)[0]
            self.replay = ViewReplay(self.runner.view.deployment(self.deployment.key, batch.where))
        await asyncio.to_thread(apply_ops, self.runner.results.base_dir, batch.files)
        for message in batch.messages:
            kind = message[0]
            if kind == "outcome":
                self.runner.outcome(message[1])
            elif kind == "event":
                self.runner.node_event(*message[1:])
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
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        reason = f"{what} {where} ({type(exc).__name__}: {first})"
        log.error("%s: %s", self.deployment.key, reason)
        self.runner._fail_remaining(self.deployment, reason)
        self.runner.view.warn(f"[red]✗ {self.deployment.key}: {reason}")

    def close(self) -> None:
        if self.replay is not None:
            self.replay.end("ended: the node is gone")


class _NoLocalProvider:
    """The driver starts nothing itself: every deployment runs on a node."""

    reaped: tuple[str, ...] = ()

    def prepare(self) -> None:
        return None

    def image_id(self, image: str) -> str | None:
        return None

    def deploy(self, *args: Any, **kwargs: Any) -> Any:
        raise ClusterError("the driver of a Ray sweep starts no deployment itself")
