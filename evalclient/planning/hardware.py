"""Whether a deployment can run on a GPU, decided before any container starts.

fp8: the engine's `Fp8Support` (native W8A8, weight-only Marlin below it, the fp8 KV cache's minimum).
Memory: the weights at the precision served plus the KV cache the preset asks for (its
max_batch_total_tokens, else one full sequence of max_total_tokens; 2 x layers x kv_heads x head_dim bytes per
token in bf16, half that in fp8) must fit in the GPU's memory x the preset's gpu_memory_fraction, leaving
`RESERVE` of that budget for activations and CUDA graphs. Served tensor-parallel over n GPUs, each GPU holds
1/n of the weights and of the KV cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalclient.config import ModelSpec, Preset
from evalclient.engines.base import Capability, EngineAdapter
from evalclient.engines.registry import get_adapter
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning.plan import DeploymentPlan

RESERVE = 0.15
"""Share of the engine's memory budget kept for activations, CUDA graphs and fragmentation."""


@dataclass(frozen=True)
class Gpu:
    """One GPU as NVML reports it."""

    index: int
    name: str
    memory_gb: float | None
    capability: Capability | None

    @property
    def label(self) -> str:
        return f"GPU {self.index} ({self.name})"


def gpus_of(probe: GpuProbe) -> list[Gpu]:
    """The probe's GPUs, by NVML index."""
    memory = [*probe.memory_total_gb, *[None] * probe.count]
    capability = [*probe.compute_capability, *[None] * probe.count]
    return [Gpu(i, probe.names[i], memory[i], capability[i]) for i in range(probe.count)]


@dataclass(frozen=True)
class Fit:
    """A deployment on one GPU: whether it can run, why not, and what it will run as."""

    gpu: Gpu
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    need_gb: float | None = None
    budget_gb: float | None = None
    shards: int = 1
    memory_short: bool = False
    """Whether the memory (not the fp8 support) is what it lacks: more GPUs can help."""

    @property
    def runs(self) -> bool:
        return not self.reasons

    @property
    def summary(self) -> str:
        where = self.gpu.label if self.shards == 1 else f"{self.shards} x {self.gpu.label}"
        if self.reasons:
            return f"cannot run on {where}: " + "; ".join(self.reasons)
        if self.need_gb is None or self.budget_gb is None:
            return "fits (memory not checked)"
        per_gpu = "" if self.shards == 1 else f" per GPU on {self.shards} GPUs"
        return f"fits ({self.need_gb:.0f}/{self.budget_gb:.0f} GB{per_gpu})"


def kv_cache_gb(model: ModelSpec, preset: Preset) -> float | None:
    """The KV cache the preset asks for (decimal GB), None when the model's attention shape is unknown."""
    shape = model.attention
    if shape is None:
        return None
    tokens = preset.max_batch_total_tokens or preset.max_total_tokens
    dtype_bytes = 1 if preset.kv_cache_dtype else 2
    return 2 * shape.layers * shape.kv_heads * shape.head_dim * dtype_bytes * tokens / 1e9


def deployment_fit(deployment: DeploymentPlan, gpu: Gpu, shards: int = 1) -> Fit:
    """The verdict for `deployment` on `gpu` as its engine serves it (the knobs it applies, the weights it
    really loads), or tensor-parallel on `shards` GPUs like it (the memory need is then per GPU)."""
    preset = deployment.serving.preset
    reasons, notes = _fp8_verdict(get_adapter(deployment.engine), preset, gpu)
    weights = deployment.weights_gb()
    kv = kv_cache_gb(deployment.model, preset)
    if kv is None:
        notes.append(f"{deployment.model.key}: no attention shape in models.yaml; KV cache not counted")
    if gpu.memory_gb is None:
        return Fit(gpu, tuple(reasons), tuple(notes), shards=shards)
    need = (weights + (kv or 0.0)) / shards
    budget = gpu.memory_gb * preset.gpu_memory_fraction
    short = need > budget * (1 - RESERVE)
    if short:
        kv_part = "" if kv is None else f" + KV cache {kv:.1f} GB for {_tokens(preset)} tokens"
        per_gpu = "" if shards == 1 else f" per GPU, 1/{shards} of"
        reasons.append(
            f"needs ~{need:.1f} GB{per_gpu} (weights {weights:.1f} GB{kv_part}); the engine gets "
            f"{budget:.1f} of {gpu.memory_gb:.1f} GB at gpu_memory_fraction {preset.gpu_memory_fraction:g}, "
            f"{RESERVE:.0%} of it kept for activations"
        )
    return Fit(gpu, tuple(reasons), tuple(notes), need, budget, shards, short)


def _fp8_verdict(adapter: EngineAdapter, preset: Preset, gpu: Gpu) -> tuple[list[str], list[str]]:
    reasons: list[str] = []
    notes: list[str] = []
    capability = gpu.capability
    if capability is None:
        return reasons, notes
    support = adapter.fp8
    has = _cc(capability)
    if preset.quantize == "fp8":
        lowest = support.weights_min or support.weights_native
        if capability < lowest:
            reasons.append(
                f"{adapter.kind} serves fp8 weights from compute capability {_cc(lowest)} "
                f"({support.source}); this GPU has {has}"
            )
        elif capability < support.weights_native:
            notes.append(
                f"{adapter.kind} serves fp8 as weight-only W8A16 (Marlin) on {gpu.label}, compute capability "
                f"{has}; native fp8 needs {_cc(support.weights_native)}"
            )
    if preset.kv_cache_dtype and capability < support.kv_cache_min:
        reasons.append(
            f"{adapter.kind} serves an fp8 KV cache from compute capability {_cc(support.kv_cache_min)} "
            f"({support.source}); this GPU has {has}"
        )
    return reasons, notes


def _tokens(preset: Preset) -> str:
    return f"{preset.max_batch_total_tokens or preset.max_total_tokens:,}"


def _cc(capability: Capability) -> str:
    return f"{capability[0]}.{capability[1]}"
