"""The Ray cluster a sweep runs on: joining it, its nodes and their GPUs, the pool deployments are sized on.

Ray counts GPUs; their memory and compute capability come from each node's NVML, read by a small task pinned
to the node. With `--gpus virtual[:xGB[@CC]]` the GPUs the nodes declare are stand-ins: nothing is probed and
the containers get no device. Tensor parallelism never spans nodes, so a deployment is sized against the
cluster's smallest GPU and can use at most the GPUs of its largest node.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from evalclient.errors import ClusterError, UsageError, first_line
from evalclient.planning.hardware import Gpu
from evalclient.planning.slots import GpuPool, real_pool

INSTALL_HINT = "install it with: pip install 'evalclient[ray]'"
NAMESPACE = "evalclient"
CONNECT_TIMEOUT_S = 10.0


def import_ray() -> ModuleType:
    """Ray, or a one-line error on how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError("--backend ray needs Ray, which is not installed", INSTALL_HINT) from None
    return ray


def connect(address: str | None) -> ModuleType:
    """Join the running cluster at `address` (default: the one this host belongs to); never start one."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    target = address or "auto"
    hint = (
        "start one with `ray start --head` on a GPU host (and `ray start --address HEAD:6379` on the "
        "others), or pass --ray-address HOST:PORT"
    )
    if address is not None:
        _reachable(address, hint)
    try:
        ray.init(
            address=target,
            namespace=NAMESPACE,
            logging_level=logging.WARNING,
            log_to_driver=False,
            include_dashboard=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot join the Ray cluster at {target}: {first_line(exc)}", hint) from None
    return ray


def _reachable(address: str, hint: str) -> None:
    """Fail in seconds where nothing listens at HOST:PORT (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address '{address}' is not HOST:PORT", "e.g. --ray-address 10.0.0.1:6379")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"cannot join the Ray cluster at {address}: {reason}", hint) from None


@dataclass(frozen=True)
class ClusterNode:
    """A live node: its Ray id, address, and the GPUs Ray counts there (as NVML or --gpus virtual says)."""

    node_id: str
    address: str
    pool: GpuPool

    @property
    def gpu_count(self) -> int:
        return len(self.pool.gpus)

    def describe(self) -> str:
        return f"{self.address} node {self.node_id[:6]} ({self.pool.describe()})"


def cluster_nodes(virtual: GpuPool | None) -> list[ClusterNode]:
    """The cluster's live nodes with their GPUs (blocking: probes each GPU node's NVML)."""
    ray = import_ray()
    nodes = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        count = int(node.get("Resources", {}).get("GPU", 0))
        node_id, address = str(node["NodeID"]), str(node.get("NodeManagerAddress", "?"))
        if virtual is not None:
            pool = GpuPool(_like(virtual.reference, count), virtual=True)
        elif count:
            pool = real_pool(tuple(range(count)), _probe(ray, node_id))
        else:
            pool = GpuPool()
        nodes.append(ClusterNode(node_id, address, pool))
    return nodes


def live_gpu_counts() -> dict[str, int]:
    """The GPUs Ray counts on each live node, by node id (blocking: asks the cluster's head)."""
    ray = import_ray()
    return {
        str(node["NodeID"]): int(node.get("Resources", {}).get("GPU", 0))
        for node in ray.nodes()
        if node.get("Alive")
    }


def sizing_pool(nodes: list[ClusterNode]) -> GpuPool:
    """The pool deployments are sized against: as many GPUs as the largest node has, each like the cluster's
    smallest GPU, so a deployment fits on every node that has the GPUs it asks for."""
    gpus = [gpu for node in nodes for gpu in node.pool.gpus]
    if not gpus:
        return GpuPool()
    most = max(node.gpu_count for node in nodes)
    reference = GpuPool(tuple(gpus)).reference
    return GpuPool(_like(reference, most), virtual=any(node.pool.virtual for node in nodes))


def require_gpus(nodes: list[ClusterNode]) -> None:
    if not any(node.gpu_count for node in nodes):
        raise ClusterError(
            "the Ray cluster has no GPU",
            "start its nodes with `ray start --num-gpus N` (Ray counts NVIDIA GPUs where it sees them)",
        )


def _like(reference: Gpu | None, count: int) -> tuple[Gpu, ...]:
    name = reference.name if reference else "virtual"
    memory = reference.memory_gb if reference else None
    capability = reference.capability if reference else None
    return tuple(Gpu(i, name, memory, capability) for i in range(count))


def _probe(ray: Any, node_id: str) -> Any:
    """The node's NVML view (GpuProbe), from a task pinned to the node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from evalclient.monitor import probe_gpus

    task = ray.remote(num_cpus=0)(probe_gpus).options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)
    )
    return ray.get(task.remote(), timeout=120)
