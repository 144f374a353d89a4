"""Thinking mode per engine: chat_template_kwargs for vLLM/SGLang, Qwen3's soft switch for TGI."""

from __future__ import annotations

from evalclient.client.thinking import apply_thinking_mode
from evalclient.client.types import GenerationRequest

REQUEST = GenerationRequest(
    id="1",
    messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2? "}),
)


def test_models_without_thinking_are_untouched() -> None:
    assert apply_thinking_mode(REQUEST, "none", "tgi") is REQUEST


def test_vllm_and_sglang_get_template_kwargs() -> None:
    for engine in ("vllm", "sglang"):
        changed = apply_thinking_mode(REQUEST, "disabled", engine)
        assert changed.extra_body == {"chat_template_kwargs": {"enable_thinking": False}}
        assert changed.messages == REQUEST.messages


def test_tgi_gets_the_soft_switch_on_the_last_user_message() -> None:
    off = apply_thinking_mode(REQUEST, "disabled", "tgi")
    assert off.messages[1]["content"] == "2+2? /no_think"
    assert off.messages[0] == REQUEST.messages[0]
    assert off.extra_body == {}
    on = apply_thinking_mode(REQUEST, "enabled", "tgi")
    assert on.messages[1]["content"] == "2+2? /think"
