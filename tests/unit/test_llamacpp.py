"""The llama.cpp adapter (b11312): its flags per preset, what it refuses, its request kinds and protocols,
its metric names, readiness and /props, and multiple-choice tasks planned generatively with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llamacpp_standin import BUILD_INFO, LlamaServer, exposition

from evalclient.client import ChatRequest, GenerateRequest, LoglikelihoodRequest, Sampling, ServerClient
from evalclient.client.completion import ErrorKind
from evalclient.client.requests import RequestKind
from evalclient.config import load_config
from evalclient.deploy.endpoint import answers, fetch_info
from evalclient.engines import get_adapter
from evalclient.engines.capabilities import LLAMACPP_B11312, release
from evalclient.engines.model import DeploymentModel
from evalclient.engines.pins import LLAMACPP_PIN, pin_for
from evalclient.monitor.prometheus import parse_exposition
from evalclient.monitor.server_metrics import sample_from_exposition
from evalclient.planning.plan import build_plan
from evalclient.tasks.base import GENERATIVE_MODE
from evalclient.tasks.probe import probe_loglikelihood

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
ADAPTER = get_adapter("llamacpp")
HF = "lmstudio-community/Qwen2.5-7B-Instruct-GGUF:Q8_0"
COMMON = [
    "-hf",
    HF,
    "--host",
    "127.0.0.1",
    "--port",
    "8080",
    "--jinja",
    "--metrics",
    "-ngl",
    "all",
    "-fa",
    "on",
]
UNSERVED = (
    "no prompt log-likelihoods (no prompt logprobs: /v1/completions refuses echo, n_probs covers generated "
    "tokens only): multiple-choice tasks run generatively"
)
MC = ("arc_challenge", "hellaswag", "mmlu", "truthfulqa")


def _args(model: str, preset: str) -> list[str]:
    return list(ADAPTER.launch_spec(CONFIG.model(model), CONFIG.preset(preset), port=8080).args)


def test_the_pin_is_the_cuda_server_image_of_b11312_with_its_release() -> None:
    assert LLAMACPP_PIN.image == "ghcr.io/ggml-org/llama.cpp:server-cuda-b11312" == ADAPTER.default_image
    assert (LLAMACPP_PIN.version, LLAMACPP_PIN.cuda_text) == ("b11312", "12.8")
    assert pin_for(LLAMACPP_PIN.image) is LLAMACPP_PIN
    assert release("llamacpp", "b11312") is LLAMACPP_B11312 is ADAPTER.capabilities


def test_balanced_and_performance_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert _args("qwen2.5_8b", "balanced") == [
        *COMMON,
        "-np",
        "128",
        "--kv-unified",
        "-b",
        "8192",
        "-ub",
        "2048",
    ]
    assert _args("qwen2.5_8b", "performance") == [
        *COMMON, "-np", "256", "--kv-unified", "-b", "16384", "-ub", "2048"
    ]  # fmt: skip


def test_memory_optimized_flags_give_the_kv_budget_and_a_q8_0_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert _args("qwen2.5_8b", "memory_optimized") == [
        *COMMON, "-np", "64", "--kv-unified", "-c", "32768", "--kv-unified-per-slot", "4096",
        "-b", "4096", "-ub", "2048", "-ctk", "q8_0", "-ctv", "q8_0",
    ]  # fmt: skip


def test_qwen3_gets_its_gguf_and_an_offline_host_gets_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    args = _args("qwen3_8b", "balanced")
    assert args[:2] == ["-hf", "bartowski/Qwen_Qwen3-8B-GGUF:Q8_0"]
    assert args[-1] == "--offline"


def test_the_container_mounts_the_hub_cache_where_llama_cpp_downloads() -> None:
    spec = ADAPTER.launch_spec(CONFIG.model("qwen2.5_8b"), CONFIG.preset("balanced"), port=8080)
    assert (spec.cache_mount, spec.environment["HF_HOME"]) == ("/root/.cache/huggingface",) * 2
    assert (spec.health_path, spec.metrics_path, spec.info_paths) == ("/health", "/metrics", ("/props",))
    assert (spec.shm_size, spec.ipc_host, spec.entrypoint) == (None, False, None)
    assert spec.answer_args == spec.args  # no port or limit flag beside the answer-shaping ones


def test_each_knob_not_applied_is_recorded() -> None:
    serving = ADAPTER.serving(CONFIG.model("qwen2.5_8b"), CONFIG.preset("memory_optimized"))
    prefix = "qwen2.5_8b on llamacpp b11312: "
    assert serving.substitutions == (
        f"{prefix}weights from the GGUF {HF}, not Qwen/Qwen2.5-7B-Instruct at main (dtype=float16, "
        "quantize=fp8 not applied)",
        f"{prefix}kv_cache_dtype=fp8_e4m3 served as q8_0: llama.cpp has no fp8 cache type; q8_0 (8-bit "
        "blocks) is its 8-bit one, with flash attention",
        f"{prefix}gpu_memory_fraction=0.8 not applied: llama.cpp has no memory fraction; its KV pool is -c "
        "tokens (max_batch_total_tokens), else the model's training context fitted to the GPU (--fit)",
        prefix + UNSERVED,
    )
    assert (serving.preset.dtype, serving.preset.quantize, serving.preset.kv_cache_dtype) == (
        None,
        None,
        "fp8_e4m3",
    )
    balanced = ADAPTER.serving(CONFIG.model("qwen2.5_8b"), CONFIG.preset("balanced")).substitutions
    assert any("max_total_tokens=8192 not applied per sequence" in note for note in balanced)


@pytest.mark.parametrize("model", ["qwen_8b", "qwen2.5_14b", "qwen3_14b", "qwen_14b"])
def test_a_model_without_a_gguf_is_refused_before_any_container(model: str) -> None:
    spec = CONFIG.model(model)
    serving = ADAPTER.serving(spec, CONFIG.preset("balanced"))
    assert serving.refusal == (
        f"llamacpp b11312 serves GGUF files and no GGUF is known for {spec.hub_id}: convert it (llama.cpp's "
        "convert_hf_to_gguf.py) into a hub repository and add it to the engine's GGUF table "
        "(engines/capabilities.py)"
    )
    assert not serving.starts
    plan = _plan(["gsm8k"])
    assert {d.model.key for d in plan.started} == {"qwen2.5_8b", "qwen3_8b"}


def test_it_runs_on_one_gpu() -> None:
    assert not ADAPTER.serving(CONFIG.model("qwen3_8b"), CONFIG.preset("balanced")).shardable


def _plan(datasets: list[str], mc_mode: str = "auto") -> Any:
    return build_plan(
        CONFIG,
        models=list(CONFIG.sweep.models),
        presets=list(CONFIG.sweep.presets),
        datasets=datasets,
        samples=None,
        engine="llamacpp",
        image=None,
        mc_mode=mc_mode,
    )


def test_request_kinds_exclude_loglikelihood() -> None:
    assert ADAPTER.request_kinds == frozenset({RequestKind.CHAT, RequestKind.GENERATE})
    assert set(ADAPTER.protocols()) == set(RequestKind)  # the log-likelihood one refuses with the reason


def test_multiple_choice_tasks_run_generatively_with_the_reason_recorded() -> None:
    plan = _plan([*MC, "gsm8k"])
    for deployment in plan.started:
        for name in MC:
            job = deployment.job(name)
            assert job.spec.mode == GENERATIVE_MODE, name
            assert RequestKind.LOGLIKELIHOOD not in job.spec.request_kinds
        record = deployment.serving.record()
        assert f"{deployment.model.key} on llamacpp b11312: {UNSERVED}" in record["substitutions"]
        assert record["engine"] == "llamacpp"


def test_a_forced_loglikelihood_mode_is_planned_as_unservable() -> None:
    plan = _plan(["mmlu:loglikelihood"])
    job = plan.started[0].job("mmlu")
    assert job.spec.request_kinds - ADAPTER.request_kinds == {RequestKind.LOGLIKELIHOOD}


async def test_the_loglikelihood_probe_refuses_with_the_reason(serve_app: Any) -> None:
    url = await serve_app(LlamaServer().app())
    async with ServerClient(url, protocols=ADAPTER.protocols(), retry_wait_s=0.01) as client:
        verdict = await probe_loglikelihood(DeploymentModel(client, ADAPTER, "none"))
        direct = await client.loglikelihood(LoglikelihoodRequest("x", "Q: 1+1?\nA:", " 2"))
    assert verdict.startswith("log-likelihood probe failed: llama.cpp b11312 returns no prompt logprobs")
    assert verdict.endswith("or run multiple-choice tasks generatively (--mc-mode generative)")
    assert direct.error is not None
    assert (direct.error.kind, direct.attempts) == (ErrorKind.UNSUPPORTED, 1)


async def test_generate_refuses_prompt_details_before_sending(serve_app: Any) -> None:
    url = await serve_app(LlamaServer().app())
    async with ServerClient(url, protocols=ADAPTER.protocols(), retry_wait_s=0.01) as client:
        done = await client.generate(
            GenerateRequest("g", "def f():", Sampling(max_tokens=4), prefill_details=True)
        )
    assert done.error is not None
    assert done.error.kind == ErrorKind.UNSUPPORTED
    assert "Only no echo is supported" in done.error.message


async def test_a_streamed_chat_with_a_tool_call_and_llama_cpp_sampling_names(serve_app: Any) -> None:
    server = LlamaServer()
    url = await serve_app(server.app())
    tools = ({"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}},)
    request = ChatRequest("c", ({"role": "user", "content": "1+2?"},), Sampling(max_tokens=64), tools=tools)
    async with ServerClient(url, protocols=ADAPTER.protocols(), retry_wait_s=0.01) as client:
        model = DeploymentModel(client, ADAPTER, "disabled", (151645,))
        done = await model.chat(request)
    assert done.ok, done.error
    assert (done.text, done.finish_reason) == ("Let me call it.", "tool_calls")
    assert [(c.name, c.arguments, c.id) for c in done.tool_calls] == [("add", {"a": 1, "b": 2}, "c1")]
    assert (done.prompt_tokens, done.completion_tokens) == (21, 9)
    body = server.bodies[0]
    assert (body["repeat_penalty"], body["top_k"], body["min_p"], body["top_p"]) == (1.0, 0, 0.0, 1.0)
    assert not {"repetition_penalty", "stop_token_ids"} & set(body)
    assert body["stream_options"] == {"include_usage": True}
    assert body["chat_template_kwargs"] == {"enable_thinking": False}


def test_metric_names_read_an_exposition_written_as_the_source_writes_it() -> None:
    names = ADAPTER.metric_names
    assert names.engine == "llamacpp"
    sample = sample_from_exposition(0.0, parse_exposition(exposition()), names, None)
    assert (sample.running_batch, sample.queue_size) == (3.0, 2.0)
    assert (sample.prompt_tokens_total, sample.generation_tokens_total) == (1.23457e06, 4096.0)
    assert (sample.kv_cache_fraction, sample.kv_cache_tokens) == (None, None)  # no KV gauge at b11312


async def test_readiness_waits_out_loading_and_props_gives_the_slots(serve_app: Any) -> None:
    server = LlamaServer(loading=True, slots=6)
    url = await serve_app(server.app())
    assert not await answers(url + ADAPTER.health_path)  # 503 "Loading model"
    assert await fetch_info(url, ADAPTER.info_paths) == {}
    server.loading = False
    assert await answers(url + ADAPTER.health_path)
    info = await fetch_info(url, ADAPTER.info_paths)
    assert (info["build_info"], info["total_slots"]) == (BUILD_INFO, 6)
    assert ADAPTER.server_concurrency(info, CONFIG.preset("balanced")) == 6
    assert ADAPTER.server_concurrency({}, CONFIG.preset("balanced")) == 128
