"""Engine adapters map the engine-neutral presets to each launcher's flags, and record substitutions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalclient.config import load_config
from evalclient.engines import get_adapter
from evalclient.errors import UsageError

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")


def _flags(args: tuple[str, ...]) -> dict[str, str | None]:
    flags: dict[str, str | None] = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            nxt = args[i + 1] if i + 1 < len(args) else None
            flags[arg] = None if nxt is None or nxt.startswith("--") else nxt
    return flags


def test_tgi_balanced_flags() -> None:
    spec = get_adapter("tgi").launch_spec(CONFIG.model("qwen2.5_8b"), CONFIG.preset("balanced"), port=9000)
    flags = _flags(spec.args)
    assert flags["--model-id"] == "Qwen/Qwen2.5-7B-Instruct"
    assert flags["--port"] == "9000"
    assert flags["--hostname"] == "127.0.0.1"
    assert flags["--dtype"] == "bfloat16"
    assert flags["--max-batch-prefill-tokens"] == "8192"
    assert flags["--cuda-graphs"] == "1,2,4,8,16,32"
    assert "--quantize" not in flags
    assert "--trust-remote-code" not in flags
    assert spec.substitutions == ()
    assert spec.base_url == "http://127.0.0.1:9000"


def test_tgi_memory_optimized_quantizes_native_models() -> None:
    spec = get_adapter("tgi").launch_spec(
        CONFIG.model("qwen2.5_14b"), CONFIG.preset("memory_optimized"), port=1
    )
    flags = _flags(spec.args)
    assert flags["--quantize"] == "fp8"
    assert flags["--kv-cache-dtype"] == "fp8_e4m3fn"  # TGI's name for the e4m3 format
    assert "--dtype" not in flags  # the shard refuses a dtype beside fp8; it computes in float16 then
    assert "--max-batch-total-tokens" not in flags  # ignored for flash models: not passed, recorded
    assert spec.substitutions == (
        "qwen2.5_14b on tgi 3.3.7: max_batch_total_tokens=32768 not applied: tgi sizes its KV cache from the "
        "GPU memory fraction (0.8)",
    )
    assert spec.serving is not None
    assert spec.serving.path == "native"


def test_tgi_serves_qwen3_through_its_fallback_in_float16() -> None:
    spec = get_adapter("tgi").launch_spec(CONFIG.model("qwen3_8b"), CONFIG.preset("memory_optimized"), port=1)
    flags = _flags(spec.args)
    assert "--quantize" not in flags
    assert "--kv-cache-dtype" not in flags
    assert flags["--dtype"] == "float16"
    assert spec.quantize is None  # what is served, so the plan sizes 16-bit weights
    assert spec.serving is not None
    assert spec.serving.path == "fallback"
    assert [note.split(": ", 1)[1].split(" not applied")[0] for note in spec.substitutions] == [
        "quantize=fp8",
        "kv_cache_dtype=fp8_e4m3",
        "max_batch_total_tokens=32768",
    ]


def test_tgi_refuses_qwen_v1_and_builds_no_command() -> None:
    serving = get_adapter("tgi").serving(CONFIG.model("qwen_8b"), CONFIG.preset("balanced"))
    assert not serving.starts
    assert serving.refusal is not None
    assert serving.refusal.startswith("tgi 3.3.7 cannot start Qwen/Qwen-7B-Chat (QWenLMHeadModel): ")
    assert "tiktoken" in serving.refusal
    assert "template not found" in serving.refusal


def test_vllm_records_the_knob_it_has_no_flag_for() -> None:
    spec = get_adapter("vllm").launch_spec(
        CONFIG.model("qwen3_8b"), CONFIG.preset("memory_optimized"), port=1
    )
    assert len(spec.substitutions) == 1
    assert "max_batch_total_tokens=32768 not applied" in spec.substitutions[0]
    assert spec.quantize == "fp8"
    flags = _flags(spec.args)
    knobs = (flags["--dtype"], flags["--quantization"], flags["--kv-cache-dtype"])
    assert knobs == ("float16", "fp8", "fp8_e4m3")


def test_vllm_and_sglang_flags() -> None:
    model, preset = CONFIG.model("qwen2.5_14b"), CONFIG.preset("memory_optimized")
    vllm = _flags(get_adapter("vllm").launch_spec(model, preset, port=2).args)
    assert vllm["--quantization"] == "fp8"
    assert vllm["--max-num-seqs"] == "64"
    assert vllm["--max-model-len"] == "4096"
    assert vllm["--gpu-memory-utilization"] == "0.8"
    assert (vllm["--tool-call-parser"], "--enable-auto-tool-choice" in vllm) == (
        "hermes",
        True,
    )  # bfcl native
    sglang_spec = get_adapter("sglang").launch_spec(model, preset, port=3)
    sglang = _flags(sglang_spec.args)
    assert sglang_spec.entrypoint == ("python3", "-m", "sglang.launch_server")
    assert sglang["--mem-fraction-static"] == "0.8"
    assert sglang["--max-running-requests"] == "64"
    assert "--enable-metrics" in sglang
    assert sglang["--tool-call-parser"] == "qwen25"


def test_unknown_engine() -> None:
    with pytest.raises(UsageError, match="valid engines: tgi, vllm, sglang"):
        get_adapter("trt")


def test_hf_token_is_in_neither_the_environment_nor_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_secret_old")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    spec = get_adapter("tgi").launch_spec(CONFIG.model("qwen3_8b"), CONFIG.preset("balanced"), port=1)
    assert (spec.environment, spec.token_for) == ({}, None)
    assert "hf_secret" not in spec.command_line
    gated = CONFIG.model("qwen3_8b").model_copy(update={"gated": True})
    vllm = get_adapter("vllm").launch_spec(gated, CONFIG.preset("balanced"), port=1)
    assert (vllm.environment, vllm.token_for, vllm.token_path) == (
        {"HF_TOKEN_PATH": "/root/.cache/huggingface/token"},
        "Qwen/Qwen3-8B",
        "/root/.cache/huggingface/token",
    )
    assert "hf_secret" not in vllm.command_line


def test_offline_hub_setting_is_forwarded_for_air_gapped_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = get_adapter("sglang").launch_spec(CONFIG.model("qwen3_8b"), CONFIG.preset("balanced"), port=1)
    assert spec.environment == {"HF_HUB_OFFLINE": "1"}


def test_default_images_are_the_pins() -> None:
    assert get_adapter("tgi").launch_spec(
        CONFIG.model("qwen3_8b"), CONFIG.preset("balanced"), port=1
    ).image == ("ghcr.io/huggingface/text-generation-inference:3.3.7")
    assert get_adapter("vllm").default_image == "vllm/vllm-openai:v0.33.0"
    assert get_adapter("sglang").default_image == "lmsysorg/sglang:v0.5.19-cu129"
    assert CONFIG.sweep.engine.image == "ghcr.io/huggingface/text-generation-inference:3.3.7"


SERVER_INFO = {  # the shape of SGLang's /server_info: its server args, scheduler info, internal states
    "model_path": "Qwen/Qwen3-8B",
    "max_running_requests": 128,
    "context_length": 8192,
    "status": "ready",
    "max_total_num_tokens": 20480,
    "max_req_input_len": 20474,
    "internal_states": [{"effective_max_running_requests_per_dp": 96, "last_gen_throughput": 0.0}],
}


@pytest.mark.parametrize("path", ["/server_info", "/get_server_info"])
async def test_sglang_serving_limits_come_from_its_server_info(serve_app: Any, path: str) -> None:
    from aiohttp import web

    from evalclient.deploy.endpoint import fetch_info

    async def server_info(_: web.Request) -> web.Response:
        return web.json_response(SERVER_INFO)

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "Qwen/Qwen3-8B"}]})

    app = web.Application()
    app.router.add_get(path, server_info)  # an older SGLang answers only the deprecated one
    app.router.add_get("/v1/models", models)
    url = await serve_app(app)
    adapter = get_adapter("sglang")
    info = await fetch_info(url, adapter.info_paths)
    assert info == SERVER_INFO
    assert adapter.server_concurrency(info, CONFIG.preset("balanced")) == 96
    assert adapter.kv_budget("", info, 32768) == 20480
    without_states = {k: v for k, v in SERVER_INFO.items() if k != "internal_states"}
    assert adapter.server_concurrency(without_states, CONFIG.preset("balanced")) == 128


def test_the_config_names_exactly_the_registered_engines() -> None:
    from evalclient.config import ENGINE_KINDS
    from evalclient.engines import engine_kinds

    assert engine_kinds() == ENGINE_KINDS
