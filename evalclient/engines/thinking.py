"""A model's thinking mode, switched per request in the way each engine understands.

vLLM and SGLang pass `chat_template_kwargs` to the chat template (Qwen3 reads `enable_thinking`). TGI has no
such field (huggingface/text-generation-inference#3259), so there Qwen3's own soft switches are used: `/think`
or `/no_think` at the end of the last user message.
"""

from __future__ import annotations

from dataclasses import replace

from evalclient.client.requests import ChatRequest, Message


def template_switch(request: ChatRequest, mode: str) -> ChatRequest:
    """`chat_template_kwargs.enable_thinking` (vLLM, SGLang); unchanged for models without the mode."""
    if mode == "none":
        return request
    kwargs = {"chat_template_kwargs": {"enable_thinking": mode == "enabled"}}
    return replace(request, extra_body={**request.extra_body, **kwargs})


def soft_switch(request: ChatRequest, mode: str) -> ChatRequest:
    """Qwen3's `/think` / `/no_think` after the last user message (TGI); unchanged for mode "none"."""
    if mode == "none":
        return request
    return replace(
        request, messages=_with_switch(request.messages, "/think" if mode == "enabled" else "/no_think")
    )


def _with_switch(messages: tuple[Message, ...], switch: str) -> tuple[Message, ...]:
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last_user is None:
        return messages
    message = messages[last_user]
    content = message.get("content")
    if not isinstance(content, str):
        return messages
    changed = {**message, "content": f"{content.rstrip()} {switch}"}
    return (*messages[:last_user], changed, *messages[last_user + 1 :])
