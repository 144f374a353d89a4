"""The engine capability table and the plan that obeys it: every pinned image has its release's entry with
sources; every model × preset of presets/ on every pinned image either starts with each knob applied as the
table says (its flag, in the engine's name) and each one it does not apply recorded, or is refused with the
table's reason; the default sweep plans with no deployment that would fail to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalclient.config import load_config
from evalclient.engines import get_adapter
from evalclient.engines.base import Ports, RequestNeeds
from evalclient.engines.capabilities import RELEASES, release
from evalclient.engines.pins import PINS
from evalclient.engines.serving import serving_of
from evalclient.planning.plan import build_plan

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
# the launcher flag of each knob, per engine
FLAGS = {
    "tgi": {"quantize": "--quantize", "kv_cache_dtype": "--kv-cache-dtype", "dtype": "--dtype",
            "max_batch_total_tokens": "--max-batch-total-tokens"},
    "vllm": {"quantize": "--quantization", "kv_cache_dtype": "--kv-cache-dtype", "dtype": "--dtype",
             "max_batch_total_tokens": None},
    "sglang": {"quantize": "--quantization", "kv_cache_dtype": "--kv-cache-dtype", "dtype": "--dtype",
               "max_batch_total_tokens": "--max-total-tokens"},
}  # fmt: skip


def _flags(args: tuple[str, ...]) -> dict[str, str | None]:
    return {
        arg: (args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None)
        for i, arg in enumerate(args)
        if arg.startswith("--")
    }


def test_every_pin_has_its_release_in_the_table_with_sources() -> None:
    for pin in PINS:
        caps = release(pin.engine, pin.version)
        assert caps is not None, f"{pin.image}: no capability entry for {pin.engine} {pin.version}"
    for caps in RELEASES:
        assert set(caps.architectures) == {"Qwen2ForCausalLM", "Qwen3ForCausalLM", "QWenLMHeadModel"}
        for name, path in caps.architectures.items():
            assert path.sources, f"{caps.engine} {caps.version} {name}: no source"
            assert all(s.file and s.ref and s.says for s in path.sources)
            assert path.path == "native" or path.reason, f"{caps.engine} {name}: a {path.path} path says why"
        for part in (caps.kv_cache, caps.limits, caps.container):
            assert part.sources, f"{caps.engine} {caps.version}: {type(part).__name__} has no source"
        assert caps.sources
        assert set(caps.kv_cache.names) == {"fp8_e4m3", "fp8_e5m2"}
        assert get_adapter(caps.engine).metric_names == caps.metrics


HF_PINS = [p for p in PINS if p.engine != "llamacpp"]  # llama.cpp (GGUF, short flags): test_llamacpp.py


@pytest.mark.parametrize("pin", HF_PINS, ids=[p.image for p in HF_PINS])
@pytest.mark.parametrize("model", sorted(CONFIG.models))
@pytest.mark.parametrize("preset", sorted(CONFIG.presets))
def test_each_deployment_starts_as_the_table_says_or_is_refused_with_its_reason(
    pin: object, model: str, preset: str
) -> None:
    from evalclient.engines.pins import ImagePin

    assert isinstance(pin, ImagePin)
    spec_model, spec_preset = CONFIG.model(model), CONFIG.preset(preset)
    caps = release(pin.engine, pin.version)
    assert caps is not None
    arch = caps.architecture(spec_model.architecture)
    assert arch is not None
    serving = serving_of(spec_model, spec_preset, pin.engine, pin.image)
    assert (serving.capabilities, serving.assumed, serving.path) == (caps, False, arch.path)
    if arch.path == "unsupported":
        assert serving.refusal == (
            f"{pin.engine} {pin.version} cannot start {spec_model.hub_id} ({spec_model.architecture}): "
            f"{arch.reason}"
        )
        assert not serving.starts
        return
    assert serving.refusal is None
    spec = get_adapter(pin.engine).launch_spec(
        spec_model, spec_preset, port=1, image=pin.image, serving=serving
    )
    flags = _flags(spec.args)
    flag = FLAGS[pin.engine]
    expected_notes = 0
    quantized = spec_preset.quantize is not None and spec_preset.quantize in arch.quantize
    if spec_preset.quantize is not None:
        assert flags.get(flag["quantize"]) == (spec_preset.quantize if quantized else None)
        expected_notes += not quantized
    kv = spec_preset.kv_cache_dtype
    if kv is not None:
        applied = arch.fp8_kv_cache
        assert flags.get(flag["kv_cache_dtype"]) == (caps.kv_cache.names[kv] if applied else None)
        expected_notes += (not applied) + (applied and kv not in caps.kv_cache.fast)
    if spec_preset.max_batch_total_tokens is not None:
        budget = flag["max_batch_total_tokens"]
        if caps.batch_token_budget:
            assert budget is not None
            assert flags[budget] == str(spec_preset.max_batch_total_tokens)
        else:
            assert budget is None or budget not in flags
            expected_notes += 1
    dtype = serving.preset.dtype
    if quantized and not caps.dtype_with_quantize:
        assert flag["dtype"] not in flags  # TGI: one of dtype or quantize
        assert dtype == caps.quantized_dtype
        expected_notes += spec_preset.dtype not in (None, caps.quantized_dtype)
    else:
        assert flags.get(flag["dtype"]) == dtype
    if caps.limits.input_limit_flag is None:
        expected_notes += spec_preset.max_input_tokens < spec_preset.max_total_tokens - 1
    assert len(spec.substitutions) == expected_notes, spec.substitutions
    assert all(note.startswith(f"{model} on {pin.engine} {pin.version}: ") for note in spec.substitutions)
    for extra in arch.extra_args:
        assert extra in spec.args


def test_the_default_sweep_plans_no_deployment_that_would_fail_to_start() -> None:
    plan = build_plan(
        CONFIG,
        models=CONFIG.sweep.models,
        presets=CONFIG.sweep.presets,
        datasets=list(CONFIG.sweep.datasets),
        samples=None,
        engine=CONFIG.sweep.engine.kind,
        image=CONFIG.sweep.engine.image,
        routes=CONFIG.sweep.engine.models,
        auto_route=False,
    )
    assert len(plan.started) == len(plan.deployments) == 18
    assert all(d.serving.refusal is None and not d.serving.assumed for d in plan.deployments)
    served = {d.key: (d.image, d.serving.path) for d in plan.deployments}
    tgi, vllm21 = CONFIG.sweep.engine.image, "vllm/vllm-openai:v0.21.0-cu129"
    for preset in CONFIG.sweep.presets:
        assert served[f"qwen2.5_8b_{preset}"] == (tgi, "native")
        assert served[f"qwen3_14b_{preset}"] == (tgi, "fallback")
        assert served[f"qwen_14b_{preset}"] == (vllm21, "native")
    assert plan.images == (("tgi", tgi), ("vllm", vllm21))


def test_an_engine_without_the_model_routes_it_to_its_pinned_image_that_serves_it() -> None:
    vllm = build_plan(
        CONFIG, models=["qwen_8b", "qwen3_8b"], presets=["balanced"], datasets=[], samples=1, engine="vllm",
        image=None,
    )  # fmt: skip
    v1, qwen3 = vllm.deployments
    assert (v1.image, v1.serving.version, qwen3.image) == (
        "vllm/vllm-openai:v0.21.0-cu129",
        "0.21.0",
        "vllm/vllm-openai:v0.33.0",
    )
    assert v1.serving.route is not None
    assert v1.serving.route.endswith(
        "; served by vllm/vllm-openai:v0.21.0-cu129 instead, the pinned vllm image that can"
    )
    asked = build_plan(
        CONFIG, models=["qwen_8b"], presets=["balanced"], datasets=[], samples=1, engine="vllm",
        image="vllm/vllm-openai:v0.33.0", auto_route=False,
    )  # fmt: skip
    [refused] = asked.deployments
    assert not refused.serving.starts
    assert asked.started == ()
    assert "vLLM removed QWenLMHeadModel after v0.23.0" in (refused.serving.refusal or "")


def test_sglang_serves_qwen_v1_with_a_chat_template_and_its_end_of_turn_tokens() -> None:
    adapter = get_adapter("sglang")
    model = CONFIG.model("qwen_8b")
    spec = adapter.launch_spec(model, CONFIG.preset("balanced"), port=1)
    assert _flags(spec.args)["--chat-template"] == "chatml"
    from evalclient.client.requests import ChatRequest, Sampling

    request = ChatRequest("x", ({"role": "user", "content": "hi"},), Sampling(max_tokens=8))
    assert adapter.apply_stop_tokens(request, model.stop_token_ids).extra_body == {
        "stop_token_ids": [151643, 151644, 151645]
    }
    assert get_adapter("tgi").apply_stop_tokens(request, model.stop_token_ids) is request


def test_an_unpinned_image_is_planned_as_its_engines_default_and_tried() -> None:
    serving = serving_of(CONFIG.model("qwen_8b"), CONFIG.preset("balanced"), "tgi", "my/tgi:patched")
    assert (serving.assumed, serving.starts, serving.version) == (True, True, "3.3.7")
    assert (serving.refusal or "").endswith("; my/tgi:patched is not pinned, so it is tried")
    fallback = serving_of(
        CONFIG.model("qwen3_8b"), CONFIG.preset("memory_optimized"), "tgi", "my/tgi:patched"
    )
    assert fallback.label == "tgi 3.3.7 (assumed), fallback"
    assert fallback.substitutions[0].startswith("qwen3_8b on tgi 3.3.7 (assumed): quantize=fp8 not applied")


def test_engines_are_launched_to_take_the_requests_the_tasks_send() -> None:
    model, preset = CONFIG.model("qwen2.5_8b"), CONFIG.preset("balanced")
    five = RequestNeeds(stop_sequences=5)
    tgi = get_adapter("tgi").launch_spec(model, preset, port=1, needs=five)
    assert _flags(tgi.args)["--max-stop-sequences"] == "5"
    assert "--max-stop-sequences" not in get_adapter("tgi").launch_spec(model, preset, port=1).args
    assert "--max-stop-sequences" not in tgi.fingerprint_args  # a limit changes no answer
    logprobs = get_adapter("tgi").launch_spec(model, preset, port=1, needs=RequestNeeds(top_logprobs=8))
    assert _flags(logprobs.args)["--max-top-n-tokens"] == "8"
    vllm33 = get_adapter("vllm").launch_spec(model, preset, port=1, needs=five)
    assert vllm33.environment.get("VLLM_MAX_STOP_STRINGS") == "5"
    vllm21 = get_adapter("vllm").launch_spec(
        model, preset, port=1, needs=five, image="vllm/vllm-openai:v0.21.0-cu129"
    )
    assert "VLLM_MAX_STOP_STRINGS" not in vllm21.environment  # no cap before vllm-project/vllm#51447
    sglang = get_adapter("sglang").launch_spec(model, preset, port=1, needs=five)
    assert "VLLM_MAX_STOP_STRINGS" not in sglang.environment
    plan = build_plan(
        CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=["humaneval_completion", "gsm8k"],
        samples=1, engine="tgi", image=None,
    )  # fmt: skip
    assert plan.deployments[0].needs == RequestNeeds(stop_sequences=5)  # the Codex paper's five


def test_side_by_side_deployments_get_their_own_ports_and_the_shared_memory_their_engine_asks() -> None:
    model, preset = CONFIG.model("qwen2.5_14b"), CONFIG.preset("balanced")
    tgi = get_adapter("tgi").launch_spec(model, preset, port=1, ports=Ports(31000, 31001, 31002), shards=2)
    flags = _flags(tgi.args)
    assert (flags["--port"], flags["--prometheus-port"], flags["--master-port"]) == (
        "31000",
        "31001",
        "31002",
    )
    assert (tgi.shm_size, tgi.ipc_host) == ("1g", False)
    single = get_adapter("tgi").launch_spec(model, preset, port=1, ports=Ports(32000, 32001, 32002))
    assert "--master-port" not in single.args  # unsharded, no torch.distributed rendezvous
    vllm = get_adapter("vllm").launch_spec(model, preset, port=1, ports=Ports(33000, 33001, 33002), shards=2)
    assert (vllm.ipc_host, "33001" in vllm.args, "33002" in vllm.args) == (True, False, False)
    sglang = get_adapter("sglang").launch_spec(model, preset, port=1, ports=Ports(34000, 0, 34002), shards=2)
    assert (_flags(sglang.args)["--nccl-port"], sglang.shm_size, sglang.ipc_host) == ("34002", "32g", False)
    assert sglang.info_paths == ("/server_info", "/get_server_info")


def test_bfcl_runs_in_prompt_mode_where_the_engine_returns_one_tool_call_per_turn() -> None:
    tgi = build_plan(
        CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=["bfcl"], samples=1, engine="tgi",
        image=None,
    )  # fmt: skip
    vllm = build_plan(
        CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=["bfcl"], samples=1, engine="vllm",
        image=None,
    )  # fmt: skip
    assert tgi.deployments[0].job("bfcl").spec.mode == "prompt"
    assert tgi.notes() == [
        "bfcl: prompt mode on tgi, which returns one tool call per turn (its parallel categories need "
        "several)"
    ]
    assert (vllm.deployments[0].job("bfcl").spec.mode, vllm.notes()) == ("native", [])
    native = build_plan(
        CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=["bfcl:native"], samples=1,
        engine="tgi", image=None,
    )  # fmt: skip
    assert native.deployments[0].job("bfcl").spec.mode == "native"
    assert native.notes() == [
        "bfcl:native on tgi: one tool call per turn, so the answers that need several (parallel categories) "
        "cannot pass"
    ]
