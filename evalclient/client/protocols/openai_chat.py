"""OpenAI chat completions (`/v1/chat/completions`), streamed or not, as TGI, vLLM and SGLang serve them."""

from __future__ import annotations

import time
from typing import Any

from evalclient.client.completion import Completion, TokenLogprob
from evalclient.client.protocols.base import (
    DONE,
    Clock,
    Protocol,
    as_object,
    field,
    first_choice,
    parse_event,
    usage_counts,
)
from evalclient.client.protocols.sampling import openai_sampling
from evalclient.client.requests import ChatRequest, Request, RequestKind, Sampling
from evalclient.client.tool_calls import (
    MalformedToolCall,
    ToolCallAssembler,
    message_tool_calls,
    text_tool_calls,
)
from evalclient.client.transport import Transport, malformed

PATH = "/v1/chat/completions"
_REASONING_FIELDS = ("reasoning", "reasoning_content")  # vLLM renamed the field; SGLang keeps the old


class OpenAIChat(Protocol):
    """Chat requests; `full_sampling` for engines that apply generation_config defaults (vLLM, SGLang)."""

    kind = RequestKind.CHAT

    def __init__(self, *, full_sampling: bool) -> None:
        self.full_sampling = full_sampling

    def body(self, request: ChatRequest, model: str) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": list(request.messages), "stream": request.stream}
        body.update(self.sampling_fields(request.sampling))
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        if request.tools:
            body["tools"] = list(request.tools)
        if request.tool_choice is not None:
            body["tool_choice"] = request.tool_choice
        if request.logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = request.logprobs
        body.update(request.extra_body)
        return body

    def sampling_fields(self, sampling: Sampling) -> dict[str, Any]:
        """The request's sampling as this engine's chat API names it."""
        return openai_sampling(sampling, full=self.full_sampling)

    async def execute(self, http: Transport, request: Request, out: Completion, model: str) -> None:
        assert isinstance(request, ChatRequest)
        body = self.body(request, model)
        out.started_at = time.monotonic()
        if request.stream:
            await _stream(http, body, out)
        else:
            answer, _ = await http.post_json(PATH, body)
            read_message(as_object(answer, "response"), out)
        out.finished_at = time.monotonic()
        out.latency_ms = (out.finished_at - out.started_at) * 1000
        if not out.tool_calls and "<tool_call>" in out.text:
            out.tool_calls = text_tool_calls(out.text)


async def _stream(http: Transport, body: dict[str, Any], out: Completion) -> None:
    pieces: list[str] = []
    thoughts: list[str] = []
    tools = ToolCallAssembler()
    clock = Clock(out)
    async with http.post_sse(PATH, body) as batches:
        async for now, datas in batches:
            for data in datas:
                if data == DONE or data.strip() == DONE:
                    break
                if read_chunk(parse_event(data), out, pieces, thoughts, tools):
                    clock.tick(now)
    out.text = "".join(pieces)
    out.reasoning = "".join(thoughts) if thoughts else None
    try:
        out.tool_calls = tools.calls()
    except MalformedToolCall as exc:
        raise malformed(str(exc)) from exc


def read_chunk(
    chunk: dict[str, Any],
    out: Completion,
    pieces: list[str],
    thoughts: list[str],
    tools: ToolCallAssembler,
) -> bool:
    """Apply one chunk to the record; True when it carried generated output (a token arrival).

    The common chunk (one choice, a content delta, no usage) takes the first branch with no further checks;
    anything else goes through the checked path.
    """
    if chunk.get("usage") is not None:
        usage_counts(chunk, out)
    choices = chunk.get("choices")
    if not choices:
        return False
    choice = choices[0] if type(choices) is list else None
    if type(choice) is dict:
        delta = choice.get("delta")
        if type(delta) is dict and _plain(delta) and choice.get("logprobs") is None:
            finish = choice.get("finish_reason")
            if finish is not None:
                out.finish_reason = str(finish)
            content = delta["content"]
            if content:
                pieces.append(content)
                return True
            return False
    return _read_choice(first_choice(chunk, "chunk."), out, pieces, thoughts, tools)


def _plain(delta: dict[str, Any]) -> bool:
    """A delta with text content only (no reasoning, no tool calls)."""
    return (
        type(delta.get("content")) is str
        and not delta.get("tool_calls")
        and not delta.get("reasoning")
        and not delta.get("reasoning_content")
    )


def _read_choice(
    choice: dict[str, Any] | None,
    out: Completion,
    pieces: list[str],
    thoughts: list[str],
    tools: ToolCallAssembler,
) -> bool:
    if choice is None:
        return False
    finish = field(choice, "finish_reason", str, "chunk.choices[0].")
    if finish:
        out.finish_reason = finish
    delta = as_object(choice.get("delta") or {}, "chunk.choices[0].delta")
    arrived = False
    content = field(delta, "content", str, "delta.")
    if content:
        pieces.append(content)
        arrived = True
    for name in _REASONING_FIELDS:
        thought = field(delta, name, str, "delta.")
        if thought:
            thoughts.append(thought)
            arrived = True
            break
    if delta.get("tool_calls"):
        try:
            tools.add(delta["tool_calls"])
        except MalformedToolCall as exc:
            raise malformed(str(exc)) from exc
        arrived = True
    _logprobs(choice.get("logprobs"), out)
    return arrived


def read_message(body: dict[str, Any], out: Completion) -> None:
    """A whole (non-streamed) chat completion."""
    usage_counts(body, out)
    choice = first_choice(body, "")
    if choice is None:
        raise malformed("chat completion has no choices")
    out.finish_reason = field(choice, "finish_reason", str, "choices[0].")
    message = as_object(choice.get("message"), "choices[0].message")
    out.text = field(message, "content", str, "message.") or ""
    for name in _REASONING_FIELDS:
        thought = field(message, name, str, "message.")
        if thought is not None:
            out.reasoning = thought
            break
    try:
        out.tool_calls = message_tool_calls(message)
    except MalformedToolCall as exc:
        raise malformed(str(exc)) from exc
    _logprobs(choice.get("logprobs"), out)


def _logprobs(value: Any, out: Completion) -> None:
    """Append OpenAI `logprobs.content` entries (token, logprob, top_logprobs) to the record."""
    if not value:
        return
    content = as_object(value, "logprobs").get("content") or []
    if not isinstance(content, list):
        raise malformed("logprobs.content is not a list")
    if out.logprobs is None:
        out.logprobs = []
    for entry in content:
        item = as_object(entry, "logprobs.content[]")
        top = item.get("top_logprobs")
        pairs = None
        if isinstance(top, list) and top:
            pairs = tuple(
                (str(t.get("token")), float(t.get("logprob") or 0.0)) for t in top if isinstance(t, dict)
            )
        logprob = item.get("logprob")
        out.logprobs.append(
            TokenLogprob(str(item.get("token", "")), None if logprob is None else float(logprob), None, pairs)
        )
