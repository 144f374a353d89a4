"""A model's thinking mode, set per request in the way each engine understands.

vLLM and SGLang pass `chat_template_kwargs` to the chat template (Qwen3 reads `enable_thinking`). TGI has no
such field (huggingface/text-generation-inference#3259), so there Qwen3's own soft switches are used: `/think`
or `/no_think` at the end of the last user message.
"""

from __future__ import annotations

from dataclasses import replace

from evalclient.client.types import GenerationRequest


def apply_thinking_mode(request: GenerationRequest, mode: str, engine: str) -> GenerationRequest:
    """The request with thinking enabled or disabled; unchanged for models without a thinking mode."""
    if mode == "none":
        return request
    enabled = mode == "enabled"
    if engine in ("vllm", "sglang"):
        kwargs = {"chat_template_kwargs": {"enable_thinking": enabled}}
        return replace(request, extra_body={**request.extra_body, **kwargs})
    return replace(request, messages=_with_switch(request.messages, "/think" if enabled else "/no_think"))


def _with_switch(messages: tuple[dict[str, str], ...], switch: str) -> tuple[dict[str, str], ...]:
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last_user is None:
        return messages
    message = messages[last_user]
    changed = {**message, "content": f"{message['content'].rstrip()} {switch}"}
    return (*messages[:last_user], changed, *messages[last_user + 1 :])
