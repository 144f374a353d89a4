"""GPU slots: which GPUs a sweep may use, and how many of them each deployment needs.

A deployment gets the fewest GPUs (1, 2, 4 or 8, served tensor-parallel) on which its weights at the precision
served plus the KV cache its preset asks for fit (`hardware.deployment_fit`, per GPU), within what the engine
can shard the model over and what its attention heads divide into. Sizing uses the smallest GPU given, so any
slot of the pool can hold it. Virtual GPUs (`--gpus virtual:2x80`) stand in for real ones on machines without
a GPU: the schedule and the parallelism are real, the containers get no device.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from evalclient.errors import UsageError
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning.hardware import Fit, Gpu, deployment_fit, gpus_of
from evalclient.planning.plan import DeploymentPlan
from evalclient.planning.schedule import Job, estimate_minutes

SHARD_COUNTS = (1, 2, 4, 8)
_VIRTUAL = re.compile(r"^virtual:(\d+)(?:x(\d+(?:\.\d+)?)(?:GB)?)?(?:@(\d+)\.(\d+))?$", re.IGNORECASE)


@dataclass(frozen=True)
class GpuPool:
    """The GPUs a sweep runs on; empty when it runs on none (an endpoint, a CPU simulator)."""

    gpus: tuple[Gpu, ...] = ()
    virtual: bool = False

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(g.index for g in self.gpus)

    @property
    def reference(self) -> Gpu | None:
        """The GPU deployments are sized against: the one with the least memory (any slot then fits)."""
        known = [g for g in self.gpus if g.memory_gb is not None]
        if known:
            return min(known, key=lambda g: g.memory_gb or 0.0)
        return self.gpus[0] if self.gpus else None

    def describe(self) -> str:
        if not self.gpus:
            return "no GPU"
        memory = self.gpus[0].memory_gb
        size = "" if memory is None else f" of {memory:g} GB"
        kind = "virtual GPU" if self.virtual else "GPU"
        names = {g.name for g in self.gpus}
        shown = "" if self.virtual or len(names) != 1 else f" ({names.pop()})"
        return f"{len(self.gpus)} {kind}{'s' if len(self.gpus) != 1 else ''}{size}{shown}"


@dataclass(frozen=True)
class Slot:
    """The GPUs one deployment runs on."""

    gpus: tuple[int, ...] = ()
    virtual: bool = False

    @property
    def devices(self) -> list[int] | None:
        """What the container is given: its real GPUs, none for virtual ones or no GPU."""
        return list(self.gpus) if self.gpus and not self.virtual else None

    @property
    def label(self) -> str:
        if not self.gpus:
            return "no GPU"
        prefix = "vGPU" if self.virtual else "GPU"
        return f"{prefix} {','.join(str(g) for g in self.gpus)}"


def virtual_pool(value: str) -> GpuPool | None:
    """`virtual:8x80@9.0` → 8 virtual GPUs of 80 GB at compute capability 9.0; None when not virtual."""
    if not value.lower().startswith("virtual:"):
        return None
    match = _VIRTUAL.match(value.strip())
    if match is None or int(match.group(1)) < 1:
        raise UsageError(
            f"--gpus '{value}' is not a virtual GPU pool",
            "write virtual:N, virtual:NxGB or virtual:NxGB@MAJOR.MINOR, e.g. virtual:8x80@9.0",
        )
    count, memory, major, minor = match.groups()
    capability = (int(major), int(minor)) if major is not None else None
    gpus = tuple(Gpu(i, "virtual", float(memory) if memory else None, capability) for i in range(int(count)))
    return GpuPool(gpus, virtual=True)


def real_pool(indices: tuple[int, ...], probe: GpuProbe) -> GpuPool:
    """The GPUs asked for, as NVML reports them; one NVML does not know is kept with nothing known."""
    known = {g.index: g for g in gpus_of(probe)}
    return GpuPool(tuple(known.get(i, Gpu(i, "unknown", None, None)) for i in indices))


@dataclass(frozen=True)
class Sizing:
    """How many GPUs a deployment gets, or why it cannot run on the pool (then `shards` is None)."""

    deployment: DeploymentPlan
    shards: int | None
    fit: Fit | None = None
    reason: str | None = None

    @property
    def runs(self) -> bool:
        return self.shards is not None


def shard_counts(deployment: DeploymentPlan, available: int) -> list[int]:
    """The tensor-parallel degrees the engine can serve the model at, up to `available` GPUs."""
    most = max(SHARD_COUNTS) if deployment.serving.shardable else 1
    shape = deployment.model.attention
    counts = []
    for n in SHARD_COUNTS:
        if n > min(available, most):
            break
        if shape is not None and shape.heads is not None and shape.heads % n:
            continue
        if shape is not None and shape.kv_heads % n and n % shape.kv_heads:
            continue
        counts.append(n)
    return counts


def size_deployment(deployment: DeploymentPlan, pool: GpuPool) -> Sizing:
    """The fewest GPUs of the pool the deployment fits on (tensor-parallel above one)."""
    gpu = pool.reference
    if gpu is None:
        return Sizing(deployment, 1)
    fit: Fit | None = None
    for shards in shard_counts(deployment, len(pool.gpus)):
        fit = deployment_fit(deployment, gpu, shards)
        if fit.runs:
            return Sizing(deployment, shards, fit)
        if len(fit.reasons) > int(fit.memory_short):  # fp8 support: more GPUs of this kind do not help
            break
    if fit is None:  # no degree divides the model's heads within the pool
        reason = (
            f"{deployment.key}: no tensor-parallel degree up to {len(pool.gpus)} divides its attention heads"
        )
        return Sizing(deployment, None, None, reason)
    return Sizing(deployment, None, fit, f"{deployment.key} {fit.summary}{_more(deployment, pool)}")


def _more(deployment: DeploymentPlan, pool: GpuPool) -> str:
    """How many GPUs like these it would need, when more than the pool has."""
    gpu = pool.reference
    if gpu is None:
        return ""
    for shards in shard_counts(deployment, max(SHARD_COUNTS)):
        if shards > len(pool.gpus) and deployment_fit(deployment, gpu, shards).runs:
            return f" (it needs {shards} GPUs like it, {len(pool.gpus)} given)"
    if not deployment.serving.shardable and len(pool.gpus) > 1:
        return f" ({deployment.engine} cannot shard {deployment.model.hub_id} over several GPUs)"
    return ""


def sweep_jobs(deployments: Iterable[DeploymentPlan], pool: GpuPool) -> tuple[dict[str, Sizing], list[Job]]:
    """Each deployment that starts sized on the pool, and the schedulable ones as jobs with their estimates
    (a deployment its engine refuses is not sized: it never runs)."""
    sizings: dict[str, Sizing] = {}
    jobs: list[Job] = []
    for deployment in deployments:
        if not deployment.serving.starts:
            continue
        sizing = size_deployment(deployment, pool)
        sizings[deployment.key] = sizing
        if sizing.shards is None:
            continue
        minutes = estimate_minutes(
            [job.samples for job in deployment.datasets],
            deployment.weights_gb(),
            sizing.shards,
        )
        jobs.append(Job(deployment.key, sizing.shards, minutes, deployment.model.key))
    return sizings, jobs
