"""GPU slots: how many GPUs each deployment of the sweep gets on 24, 48 and 80 GB GPUs (pinned), the engines'
tensor-parallel flags, and the --gpus pools."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from evalclient.config import load_config
from evalclient.engines import get_adapter
from evalclient.engines.base import Ports
from evalclient.errors import UsageError
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning.hardware import Gpu
from evalclient.planning.plan import DeploymentPlan, build_plan
from evalclient.planning.slots import Slot, real_pool, shard_counts, size_deployment, sweep_jobs, virtual_pool

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
SWEEP = build_plan(CONFIG, models=CONFIG.sweep.models, presets=CONFIG.sweep.presets, datasets=[], samples=1,
                   engine="tgi", image=None, routes=CONFIG.sweep.engine.models)  # fmt: skip


def _deployment(model: str, preset: str, engine: str = "tgi") -> DeploymentPlan:
    plan = build_plan(
        CONFIG, models=[model], presets=[preset], datasets=[], samples=1, engine=engine, image=None
    )
    return plan.deployments[0]


def _shards(pool_spec: str) -> dict[str, int | None]:
    pool = virtual_pool(pool_spec)
    assert pool is not None
    return {d.key: size_deployment(d, pool).shards for d in SWEEP.deployments}


def test_a_14b_bf16_model_needs_two_24_gb_gpus_but_one_80_gb_gpu() -> None:
    dep = _deployment("qwen3_14b", "balanced")
    small, big = virtual_pool("virtual:2x24@8.9"), virtual_pool("virtual:1x80@9.0")
    assert small is not None
    assert big is not None
    on_small = size_deployment(dep, small)
    assert (on_small.shards, on_small.fit and on_small.fit.summary) == (
        2,
        "fits (15/22 GB per GPU on 2 GPUs)",
    )
    on_big = size_deployment(dep, big)
    assert (on_big.shards, on_big.fit and on_big.fit.summary) == (1, "fits (31/72 GB)")


# The default sweep (Qwen v1 routed to vLLM 0.21.0, the rest on TGI 3.3.7), 8 GPUs of each size: GPUs per
# deployment as each engine really serves it. On 24 GB: Qwen3-8B memory_optimized needs 2 GPUs, because TGI's
# transformers fallback applies no fp8 (16.4 GB of float16 weights against 24 x 0.8 less 15%); Qwen v1 on vLLM
# shards, and its fp8 memory_optimized fits one GPU; the 14B models at 16 bits need 2.
TGI_SHARDS = {
    24: {"qwen2.5_8b": (1, 1, 1), "qwen3_8b": (1, 1, 2), "qwen_8b": (2, 2, 1),
         "qwen2.5_14b": (2, 2, 1), "qwen3_14b": (2, 2, 2), "qwen_14b": (2, 2, 1)},
    48: {"qwen2.5_8b": (1, 1, 1), "qwen3_8b": (1, 1, 1), "qwen_8b": (1, 1, 1),
         "qwen2.5_14b": (1, 1, 1), "qwen3_14b": (1, 1, 1), "qwen_14b": (1, 1, 1)},
    80: {"qwen2.5_8b": (1, 1, 1), "qwen3_8b": (1, 1, 1), "qwen_8b": (1, 1, 1),
         "qwen2.5_14b": (1, 1, 1), "qwen3_14b": (1, 1, 1), "qwen_14b": (1, 1, 1)},
}  # fmt: skip
PRESETS = ("balanced", "performance", "memory_optimized")


@pytest.mark.parametrize("memory", [24, 48, 80])
def test_the_default_sweep_sized_on_eight_gpus_is_pinned(memory: int) -> None:
    expected = {
        f"{model}_{preset}": shards
        for model, per_preset in TGI_SHARDS[memory].items()
        for preset, shards in zip(PRESETS, per_preset, strict=True)
    }
    assert _shards(f"virtual:8x{memory}@9.0") == expected


@pytest.mark.parametrize(("count", "expected"), [(1, None), (2, 2), (4, 2), (8, 2)])
def test_a_deployment_gets_the_fewest_gpus_it_fits_on(count: int, expected: int | None) -> None:
    assert _shards(f"virtual:{count}x24")["qwen2.5_14b_balanced"] == expected


def test_with_too_few_gpus_the_reason_says_how_many_it_needs() -> None:
    pool = virtual_pool("virtual:1x24")
    assert pool is not None
    sizing = size_deployment(_deployment("qwen2.5_14b", "balanced"), pool)
    assert sizing.shards is None
    assert sizing.reason == (
        "qwen2.5_14b_balanced cannot run on GPU 0 (virtual): needs ~31.0 GB (weights 29.4 GB + KV cache "
        "1.6 GB for 8,192 tokens); the engine gets 21.6 of 24.0 GB at gpu_memory_fraction 0.9, 15% of it "
        "kept for activations (it needs 2 GPUs like it, 1 given)"
    )


def test_a_refused_deployment_is_never_sized_and_its_route_shards() -> None:
    pool = virtual_pool("virtual:8x24")
    assert pool is not None
    refused = _deployment("qwen_8b", "balanced")  # TGI 3.3.7, no route: refused by the capability table
    assert not refused.serving.starts
    sizings, jobs = sweep_jobs([refused], pool)
    assert (sizings, jobs) == ({}, [])
    vllm = size_deployment(_deployment("qwen_8b", "balanced", "vllm"), pool)  # routed to v0.21.0
    assert vllm.shards == 2


def test_a_path_that_cannot_shard_is_sized_on_one_gpu_and_says_so() -> None:
    pool = virtual_pool("virtual:8x24")
    assert pool is not None
    deployment = _deployment("qwen2.5_14b", "balanced")
    unsharded = replace(deployment, serving=replace(deployment.serving, shardable=False))
    assert shard_counts(unsharded, 8) == [1]
    sizing = size_deployment(unsharded, pool)
    assert sizing.shards is None
    assert sizing.reason is not None
    assert sizing.reason.endswith("(tgi cannot shard Qwen/Qwen2.5-14B-Instruct over several GPUs)")


def test_tensor_parallel_degrees_divide_the_attention_heads() -> None:
    assert shard_counts(_deployment("qwen2.5_8b", "balanced"), 8) == [1, 2, 4]  # 28 heads, 4 KV heads
    assert shard_counts(_deployment("qwen3_14b", "balanced"), 8) == [1, 2, 4, 8]  # 40 heads, 8 KV heads
    assert shard_counts(_deployment("qwen3_14b", "balanced"), 3) == [1, 2]
    assert shard_counts(_deployment("qwen_14b", "balanced", "vllm"), 8) == [1, 2, 4, 8]  # 40 heads


def test_missing_fp8_support_is_not_retried_on_more_gpus() -> None:
    pool = virtual_pool("virtual:8x40@8.0")  # A100-like: SGLang serves fp8 from 8.9 only
    assert pool is not None
    sizing = size_deployment(_deployment("qwen3_8b", "memory_optimized", "sglang"), pool)
    assert sizing.shards is None
    assert sizing.reason == (
        "qwen3_8b_memory_optimized cannot run on GPU 0 (virtual): sglang serves fp8 weights from compute "
        "capability 8.9 (SGLang quantization and quantized KV cache docs); this GPU has 8.0"
    )


@pytest.mark.parametrize(
    ("engine", "flag"), [("tgi", "--num-shard"), ("vllm", "--tensor-parallel-size"), ("sglang", "--tp-size")]
)
def test_each_engine_gets_its_tensor_parallel_flag(engine: str, flag: str) -> None:
    dep = _deployment("qwen3_14b", "balanced", engine)
    adapter = get_adapter(engine)
    single = adapter.launch_spec(dep.model, dep.preset, port=8080)
    double = adapter.launch_spec(dep.model, dep.preset, port=8080, ports=Ports(8080, 9100, 29600), shards=2)
    assert flag not in single.args
    assert double.fingerprint_args == (*single.fingerprint_args, flag, "2")
    rendezvous = {"tgi": ["--master-port", "29600"], "sglang": ["--nccl-port", "29600"], "vllm": []}[engine]
    assert double.args[len(double.fingerprint_args) :] == (
        *(["--prometheus-port", "9100"] if engine == "tgi" else []),
        *rendezvous,
    )


def test_gpu_pools() -> None:
    pool = virtual_pool("virtual:8x80@9.0")
    assert pool is not None
    assert (pool.ids, pool.virtual, pool.describe()) == (tuple(range(8)), True, "8 virtual GPUs of 80 GB")
    assert pool.gpus[3] == Gpu(3, "virtual", 80.0, (9, 0))
    bare = virtual_pool("virtual:2")
    assert bare is not None
    assert [g.memory_gb for g in bare.gpus] == [None, None]
    assert virtual_pool("0,1") is None
    with pytest.raises(UsageError, match="'virtual:eight' is not a virtual GPU pool"):
        virtual_pool("virtual:eight")
    probe = GpuProbe(2, ("NVIDIA L4", "NVIDIA L4"), None, (24.1, 23.0), ((8, 9), (8, 9)))
    real = real_pool((1, 5), probe)
    assert real.gpus == (Gpu(1, "NVIDIA L4", 23.0, (8, 9)), Gpu(5, "unknown", None, None))
    assert real.reference == Gpu(1, "NVIDIA L4", 23.0, (8, 9))  # sized on the smallest known GPU


def test_a_slot_gives_its_real_gpus_to_the_container_and_virtual_ones_none() -> None:
    assert (Slot((2, 3)).devices, Slot((2, 3)).label) == ([2, 3], "GPU 2,3")
    assert (Slot((0,), virtual=True).devices, Slot((0,), virtual=True).label) == (None, "vGPU 0")
    assert (Slot().devices, Slot().label) == (None, "no GPU")
