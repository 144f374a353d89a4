"""Thinking mode per engine, declared by each adapter: chat_template_kwargs for vLLM/SGLang, Qwen3's soft
switch for TGI."""

from __future__ import annotations

from evalclient.client.requests import ChatRequest, Sampling
from evalclient.engines import get_adapter

REQUEST = ChatRequest(
    id="1",
    messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2? "}),
    sampling=Sampling(max_tokens=8),
)


def test_models_without_thinking_are_untouched() -> None:
    for engine in ("tgi", "vllm", "sglang"):
        assert get_adapter(engine).apply_thinking(REQUEST, "none") is REQUEST


def test_vllm_and_sglang_get_template_kwargs() -> None:
    for engine in ("vllm", "sglang"):
        changed = get_adapter(engine).apply_thinking(REQUEST, "disabled")
        assert changed.extra_body == {"chat_template_kwargs": {"enable_thinking": False}}
        assert changed.messages == REQUEST.messages


def test_tgi_gets_the_soft_switch_on_the_last_user_message() -> None:
    tgi = get_adapter("tgi")
    off = tgi.apply_thinking(REQUEST, "disabled")
    assert off.messages[1]["content"] == "2+2? /no_think"
    assert off.messages[0] == REQUEST.messages[0]
    assert off.extra_body == {}
    on = tgi.apply_thinking(REQUEST, "enabled")
    assert on.messages[1]["content"] == "2+2? /think"


def test_tgi_leaves_a_request_without_user_turn_alone() -> None:
    system_only = ChatRequest("2", ({"role": "system", "content": "x"},), Sampling(max_tokens=8))
    assert get_adapter("tgi").apply_thinking(system_only, "disabled").messages == system_only.messages
