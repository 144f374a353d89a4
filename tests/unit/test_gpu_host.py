"""GPU host checks without a GPU: image CUDA vs driver, fp8 and memory fit, NVML's driver facts, doctor."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from evalclient.config import load_config
from evalclient.errors import GPUUnavailableError
from evalclient.host.doctor import HostFacts, render, run_checks
from evalclient.host.preflight import cuda_problem, image_cuda, nvidia_access, require_image_cuda
from evalclient.monitor.nvml import GpuProbe, probe_gpus
from evalclient.planning.hardware import Gpu, deployment_fit, gpus_of, kv_cache_gb
from evalclient.planning.plan import DeploymentPlan, Plan, build_plan

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
H100 = Gpu(0, "NVIDIA H100 80GB HBM3", 85.0, (9, 0))
A100_40 = Gpu(0, "NVIDIA A100-SXM4-40GB", 42.4, (8, 0))
L4 = Gpu(1, "NVIDIA L4", 24.1, (8, 9))
T4 = Gpu(0, "Tesla T4", 16.0, (7, 5))


def _probe(cuda: tuple[int, int] | None = (12, 8), driver: str | None = "570.86.15") -> GpuProbe:
    return GpuProbe(1, (H100.name,), None, (85.0,), ((9, 0),), driver, cuda)


def _deployment(model: str, preset: str, engine: str = "tgi") -> DeploymentPlan:
    plan = build_plan(
        CONFIG, models=[model], presets=[preset], datasets=[], samples=1, engine=engine, image=None
    )
    return plan.deployments[0]


def test_pinned_images_need_the_cuda_of_their_release_notes() -> None:
    assert image_cuda("ghcr.io/huggingface/text-generation-inference:3.3.7", None) == ((12, 4), "pinned")
    assert image_cuda("vllm/vllm-openai:v0.33.0", None) == ((13, 0), "pinned")
    assert image_cuda("lmsysorg/sglang:v0.5.19-cu129", None) == ((12, 9), "pinned")
    env = {"NVIDIA_REQUIRE_CUDA": "cuda>=12.6 brand=tesla,driver>=470,driver<471", "CUDA_VERSION": "12.6.3"}
    assert image_cuda("my/engine:1", env) == ((12, 6), "image environment")
    assert image_cuda("my/engine:1", {"CUDA_VERSION": "12.1.0"}) == ((12, 1), "image environment")
    assert image_cuda("my/engine:1", None) is None


def test_an_image_newer_than_the_driver_stops_naming_both_and_a_swap() -> None:
    problem = cuda_problem("vllm/vllm-openai:v0.33.0", "vllm", (13, 0), _probe())
    assert problem is not None
    assert str(problem) == (
        "image vllm/vllm-openai:v0.33.0 needs CUDA 13.0 (NVIDIA driver 580.65 or newer) but the host's "
        "NVIDIA driver 570.86.15 supports CUDA 12.8; update the NVIDIA driver"
    )
    old = cuda_problem("vllm/vllm-openai:v0.33.0", "vllm", (13, 0), _probe(cuda=(12, 9)))
    assert old is not None
    assert old.hint == (
        "update the NVIDIA driver, or pass --image vllm/vllm-openai:v0.21.0-cu129 (CUDA 12.9)"
    )
    assert cuda_problem("lmsysorg/sglang:v0.5.19-cu129", "sglang", (12, 9), _probe(cuda=(12, 9))) is None
    assert cuda_problem("x", "tgi", (12, 4), _probe(cuda=None)) is None  # no driver: the GPU check says so
    with pytest.raises(GPUUnavailableError) as raised:
        require_image_cuda(
            "ghcr.io/huggingface/text-generation-inference:3.3.7", "tgi", _probe(cuda=(12, 2)), None
        )
    assert raised.value.exit_code == 2
    require_image_cuda("my/unknown:1", "tgi", _probe(cuda=(11, 8)), None)  # unknown requirement: not checked


def test_nvidia_access_is_the_runtime_or_cdi_devices() -> None:
    assert nvidia_access({"Runtimes": {"runc": {}, "nvidia": {}}}) == "the nvidia runtime"
    cdi = {"Runtimes": {"runc": {}}, "DiscoveredDevices": [{"Source": "cdi", "ID": "nvidia.com/gpu=0"}]}
    assert nvidia_access(cdi) == "CDI (nvidia.com/gpu=0)"
    assert nvidia_access({"Runtimes": {"runc": {}}, "DiscoveredDevices": None}) is None


def test_probe_reads_driver_cuda_and_compute_capability() -> None:
    class Nvml:
        def nvmlInit(self) -> None: ...
        def nvmlShutdown(self) -> None: ...
        def nvmlDeviceGetCount(self) -> int:
            return 1

        def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
            return index

        def nvmlDeviceGetName(self, handle: int) -> bytes:
            return b"NVIDIA L4"

        def nvmlDeviceGetMemoryInfo(self, handle: int) -> object:
            return type("Memory", (), {"total": 24_152_899_584})()

        def nvmlDeviceGetCudaComputeCapability(self, handle: int) -> tuple[int, int]:
            return (8, 9)

        def nvmlSystemGetDriverVersion(self) -> str:
            return "575.51.03"

        def nvmlSystemGetCudaDriverVersion(self) -> int:
            return 12090

    probe = probe_gpus(Nvml())
    assert probe == GpuProbe(1, ("NVIDIA L4",), None, (24.152899584,), ((8, 9),), "575.51.03", (12, 9))
    assert gpus_of(probe) == [Gpu(0, "NVIDIA L4", 24.152899584, (8, 9))]


def test_kv_cache_follows_the_attention_shape_tokens_and_dtype() -> None:
    qwen3 = CONFIG.model("qwen3_8b")  # 36 layers x 8 KV heads x 128
    assert kv_cache_gb(qwen3, CONFIG.preset("balanced")) == pytest.approx(2 * 36 * 8 * 128 * 2 * 8192 / 1e9)
    assert kv_cache_gb(qwen3, CONFIG.preset("memory_optimized")) == pytest.approx(
        2 * 36 * 8 * 128 * 32768 / 1e9
    )
    assert (
        kv_cache_gb(
            CONFIG.model("qwen3_8b").model_copy(update={"attention": None}), CONFIG.preset("balanced")
        )
        is None
    )


def test_fp8_needs_what_each_engine_documents() -> None:
    memory = _deployment("qwen3_8b", "memory_optimized", "sglang")
    sglang_a100 = deployment_fit(memory, A100_40)
    assert sglang_a100.reasons == (
        "sglang serves fp8 weights from compute capability 8.9 (SGLang quantization and quantized KV cache "
        "docs); this GPU has 8.0",
    )
    vllm_a100 = deployment_fit(_deployment("qwen3_8b", "memory_optimized", "vllm"), A100_40)
    assert vllm_a100.runs
    assert vllm_a100.notes == (
        "vllm serves fp8 as weight-only W8A16 (Marlin) on GPU 0 (NVIDIA A100-SXM4-40GB), compute capability "
        "8.0; native fp8 needs 8.9",
    )
    tgi_t4 = deployment_fit(_deployment("qwen2.5_8b", "memory_optimized"), T4)
    assert tgi_t4.reasons[:2] == (
        "tgi serves fp8 weights from compute capability 8.0 (TGI 3.3 launcher docs and fp8 layer); this "
        "GPU has 7.5",
        "tgi serves an fp8 KV cache from compute capability 8.0 (TGI 3.3 launcher docs and fp8 layer); "
        "this GPU has 7.5",
    )
    h100 = deployment_fit(memory, H100)
    assert (h100.runs, h100.notes) == (True, ())
    # TGI serves Qwen3 through its transformers fallback, which applies no fp8: nothing to check on a T4
    fallback = deployment_fit(_deployment("qwen3_8b", "memory_optimized"), T4)
    assert not any("fp8" in reason for reason in fallback.reasons)


def test_memory_fit_counts_weights_kv_and_the_reserve() -> None:
    fits = deployment_fit(_deployment("qwen2.5_14b", "balanced"), H100)
    assert fits.summary == "fits (31/76 GB)"
    too_big = deployment_fit(_deployment("qwen2.5_14b", "balanced"), L4)
    assert too_big.summary == (
        "cannot run on GPU 1 (NVIDIA L4): needs ~31.0 GB (weights 29.4 GB + KV cache 1.6 GB for 8,192 "
        "tokens); the engine gets 21.7 of 24.1 GB at gpu_memory_fraction 0.9, 15% of it kept for activations"
    )


def _facts(**overrides: object) -> HostFacts:
    facts = HostFacts(
        probe=GpuProbe(0, (), "NVML: NVML Shared Library Not Found"),
        docker_info={"ServerVersion": "28.2.2", "Runtimes": {"runc": {}}},
        cache=Path("/models"),
        free_gb=500.0,
    )
    for key, value in overrides.items():
        setattr(facts, key, value)
    return facts


def _plan(models: list[str], presets: list[str]) -> Plan:
    return build_plan(
        CONFIG, models=models, presets=presets, datasets=[], samples=1, engine="tgi", image=None
    )


def test_doctor_without_a_gpu_names_each_missing_piece_with_its_fix(tmp_path: Path) -> None:
    checks = run_checks(_plan(["qwen3_8b"], ["balanced"]), _facts())
    failed = {c.name: (c.detail, c.fix) for c in checks if c.ok is False}
    assert list(failed) == ["NVIDIA container runtime", "GPUs", "NVIDIA driver", "tgi image CUDA"]
    assert failed["GPUs"][0] == "no NVIDIA GPU visible (NVML: NVML Shared Library Not Found)"
    assert failed["tgi image CUDA"] == (
        "ghcr.io/huggingface/text-generation-inference:3.3.7 needs CUDA 12.4 (pinned); no driver to run it",
        "install an NVIDIA driver that supports CUDA 12.4 (550.54 or newer)",
    )
    assert failed["NVIDIA container runtime"][1].startswith("install nvidia-container-toolkit")
    disk = next(c for c in checks if c.name == "disk for weights")
    assert (disk.ok, disk.detail) == (
        True,
        "~16 GB of weights still to download for 1 model(s); 500 GB free in the model cache /models",
    )
    console = Console(record=True, width=300)
    assert render(checks, console) == 4
    assert console.export_text().splitlines()[-1] == "4 of 7 checks failed"


def test_doctor_on_a_ready_gpu_host(tmp_path: Path) -> None:
    probe = GpuProbe(1, (L4.name,), None, (24.1,), ((8, 9),), "575.51.03", (12, 9))
    facts = _facts(
        probe=probe,
        docker_info={"ServerVersion": "28.2.2", "Runtimes": {"nvidia": {}}},
        cached={"Qwen/Qwen3-8B": 16.4},
        free_gb=1.0,
    )
    checks = run_checks(_plan(["qwen3_8b", "qwen2.5_14b"], ["balanced"]), facts)
    verdicts = {c.name: c.ok for c in checks}
    assert verdicts == {
        "Docker engine": True,
        "NVIDIA container runtime": True,
        "GPUs": True,
        "NVIDIA driver": True,
        "tgi image CUDA": True,
        "other pinned images": None,
        "disk for weights": False,
        "Hugging Face token": True,
        "GPU fit on GPU 0 (NVIDIA L4)": False,
    }
    fit = next(c for c in checks if c.name == "GPU fit on GPU 0 (NVIDIA L4)")
    assert fit.detail.startswith("1 of 2 deployments cannot run: qwen2.5_14b_balanced cannot run on GPU 0")


def test_gated_models_need_a_token() -> None:
    gated = CONFIG.model("qwen3_8b").model_copy(update={"gated": True})
    config = CONFIG.model_copy(update={"models": {**CONFIG.models, "qwen3_8b": gated}})
    plan = build_plan(config, models=["qwen3_8b"], presets=["balanced"], datasets=[], samples=1, engine="tgi",
                      image=None)  # fmt: skip
    token = next(c for c in run_checks(plan, _facts()) if c.name == "Hugging Face token")
    assert (token.ok, token.detail) == (False, "gated model(s) qwen3_8b need a token and none is set")
    token = next(c for c in run_checks(plan, _facts(token=True)) if c.name == "Hugging Face token")
    assert (token.ok, token.detail) == (True, "set, for the gated model(s) qwen3_8b")


async def test_runner_refuses_a_deployment_that_cannot_run_and_records_why(tmp_path: Path) -> None:
    from evalclient.planning.slots import real_pool
    from evalclient.sweep.runner import EvaluationRunner, RunOptions

    plan = build_plan(CONFIG, models=["qwen2.5_14b", "qwen2.5_8b"], presets=["balanced"], datasets=["gsm8k"],
                      samples=2, engine="tgi", image=None)  # fmt: skip
    options = RunOptions(output=tmp_path, endpoint="http://127.0.0.1:9", gpus=(0,), max_retries=0)
    runner = EvaluationRunner(CONFIG, plan, options)
    runner.size(real_pool((0,), GpuProbe(1, ("NVIDIA L4",), None, (24.1,), ((8, 9),), "575.51.03", (12, 9))))
    assert list(runner.unfit) == ["qwen2.5_14b_balanced"]
    summary = await runner.run()
    refused = summary.outcomes[0]
    assert (refused.model, refused.status) == ("qwen2.5_14b", "failed")
    assert refused.error == (
        "qwen2.5_14b_balanced cannot run on GPU 0 (NVIDIA L4): needs ~31.0 GB (weights 29.4 GB + KV cache "
        "1.6 GB for 8,192 tokens); the engine gets 21.7 of 24.1 GB at gpu_memory_fraction 0.9, 15% of it "
        "kept for activations (it needs 2 GPUs like it, 1 given); nothing was started"
    )
    assert summary.outcomes[1].model == "qwen2.5_8b"  # the next deployment was tried (and failed to connect)


def test_an_image_a_model_is_routed_to_that_the_driver_cannot_run_fails_only_its_deployments(
    tmp_path: Path,
) -> None:
    from evalclient.sweep.runner import EvaluationRunner, RunOptions

    plan = build_plan(CONFIG, models=["qwen2.5_8b", "qwen_8b"], presets=["balanced"], datasets=["gsm8k"],
                      samples=2, engine="tgi", image=CONFIG.sweep.engine.image,
                      routes=CONFIG.sweep.engine.models)  # fmt: skip
    runner = EvaluationRunner(CONFIG, plan, RunOptions(output=tmp_path, gpus=(0,)))

    class Engine:  # the pinned images, not pulled yet: their CUDA comes from the pin table
        def image_env(self, image: str) -> None:
            return None

    driver_12_4 = GpuProbe(1, (H100.name,), None, (85.0,), ((9, 0),), "550.54.15", (12, 4))
    runner._require_cuda(driver_12_4, Engine())  # type: ignore[arg-type]
    assert runner.unfit == {
        "qwen_8b_balanced": "qwen_8b_balanced: image vllm/vllm-openai:v0.21.0-cu129 needs CUDA 12.9 (NVIDIA "
        "driver 575.51 or newer) but the host's NVIDIA driver 550.54.15 supports CUDA 12.4; update the "
        "NVIDIA driver; nothing was started"
    }
