"""Response bodies in TGI's shapes: /generate, /generate_stream events, chat completions and chunks."""

from __future__ import annotations

import json
import time
from typing import Any

from .generation import EOS_TOKEN, OutToken, Plan

SSE_DONE = b"data:[DONE]\n\n"


def error_body(error: str, error_type: str) -> dict[str, str]:
    """TGI's ErrorResponse."""
    return {"error": error, "error_type": error_type}


def sse_event(payload: Any) -> bytes:
    """One server-sent event as axum frames it (`data:` without a space)."""
    return b"data:" + json.dumps(payload, separators=(",", ":")).encode("utf-8") + b"\n\n"


def details_json(plan: Plan, seed: int | None, prefill: list[dict[str, object]]) -> dict[str, Any]:
    """TGI's `Details` of a /generate response."""
    return {
        "finish_reason": plan.finish_reason,
        "generated_tokens": plan.generated_tokens,
        "seed": seed,
        "prefill": prefill,
        "tokens": [t.as_json() for t in plan.tokens],
    }


def stream_event(index: int, token: OutToken, final: dict[str, Any] | None) -> dict[str, Any]:
    """A /generate_stream event; `final` holds generated_text and details for the last one."""
    event: dict[str, Any] = {
        "index": index,
        "token": token.as_json(),
        "generated_text": None,
        "details": None,
    }
    if final is not None:
        event.update(final)
    return event


def stream_details(plan: Plan, seed: int | None, input_length: int) -> dict[str, Any]:
    """TGI's `StreamDetails`."""
    return {
        "finish_reason": plan.finish_reason,
        "generated_tokens": plan.generated_tokens,
        "seed": seed,
        "input_length": input_length,
    }


def chat_finish_reason(finish_reason: str) -> str:
    """TGI's chat finish reason: `eos_token` becomes `stop`; `length` and `stop_sequence` stay."""
    return "stop" if finish_reason == EOS_TOKEN else finish_reason


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI usage counts."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def logprobs_json(tokens: list[OutToken], top_n: int | None = None) -> dict[str, Any]:
    """OpenAI `logprobs` of a choice; `top_logprobs` holds the `top_n` most likely tokens (the scripted
    alternatives, else the token itself) when asked for."""
    return {
        "content": [
            {"token": t.text, "logprob": t.logprob, "top_logprobs": _top(t, top_n or 0)} for t in tokens
        ]
    }


def _top(token: OutToken, top_n: int) -> list[dict[str, Any]]:
    pairs = token.top or ((token.text, token.logprob),)
    return [{"token": text, "logprob": logprob} for text, logprob in pairs[:top_n]]


def chat_completion(
    *,
    model: str,
    fingerprint: str,
    message: dict[str, Any],
    plan: Plan,
    prompt_tokens: int,
    logprobs: bool,
    top_n: int | None = None,
) -> dict[str, Any]:
    """A non-streamed chat completion (TGI leaves `id` empty)."""
    return {
        "object": "chat.completion",
        "id": "",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": logprobs_json(list(plan.tokens), top_n) if logprobs else None,
                "finish_reason": chat_finish_reason(plan.finish_reason),
            }
        ],
        "usage": usage(prompt_tokens, plan.generated_tokens),
    }


def chat_chunk(
    *,
    model: str,
    fingerprint: str,
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    logprobs: dict[str, Any] | None = None,
    usage_counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A streamed chat chunk; `delta=None` makes the usage-only chunk with no choices."""
    choices = []
    if delta is not None:
        choices = [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}]
    return {
        "object": "chat.completion.chunk",
        "id": "",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint,
        "choices": choices,
        "usage": usage_counts,
    }


def openai_stream_error(message: str) -> dict[str, Any]:
    """TGI's error event inside a chat stream (it always says 422)."""
    return {"error": {"message": message, "http_status_code": 422}}


def tool_call_message(answer: str, one_call: bool = False) -> dict[str, Any] | None:
    """An assistant tool-call message when `answer` is a JSON tool call or a JSON list of them, else None.

    Accepted calls: {"name": ..., "arguments"|"parameters": {...}} or TGI's own grammar output
    {"function": {"_name": ..., <arguments>}}; a list makes parallel calls, ids "0", "1", ... Arguments are
    serialized as a string, as TGI does. With `one_call` (TGI: its tool grammar admits one call per turn,
    router/src/infer/tool_grammar.rs) only the first call of a list is made.
    """
    try:
        data = json.loads(answer)
    except json.JSONDecodeError:
        return None
    items = data if isinstance(data, list) and data else [data]
    if one_call:
        items = items[:1]
    calls = [_tool_call(item) for item in items]
    if any(call is None for call in calls):
        return None
    tool_calls = []
    for index, call in enumerate(calls):
        assert call is not None
        name, arguments = call
        function = {"description": None, "name": name, "arguments": json.dumps(arguments)}
        tool_calls.append({"id": str(index), "type": "function", "function": function})
    return {"role": "assistant", "content": None, "tool_calls": tool_calls}


def tool_call_deltas(message: dict[str, Any], pieces: int = 4) -> list[dict[str, Any]]:
    """The streamed form of a tool-call message, one `delta.tool_calls` entry per chunk: for each call in
    turn (its `index`), the name with the first piece of its arguments, then the rest in `pieces` pieces,
    as TGI streams a call and vLLM streams parallel ones."""
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(message["tool_calls"]):
        arguments = call["function"]["arguments"]
        size = max(1, -(-len(arguments) // pieces))
        parts = [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]
        for number, part in enumerate(parts):
            name = call["function"]["name"] if number == 0 else None
            function = {"name": name, "arguments": part}
            deltas.append({"index": index, "id": call["id"], "type": "function", "function": function})
    return deltas


def _tool_call(data: Any) -> tuple[str, Any] | None:
    if not isinstance(data, dict):
        return None
    function = data.get("function")
    if isinstance(function, dict) and isinstance(function.get("_name"), str):
        return function["_name"], {k: v for k, v in function.items() if k != "_name"}
    name = data.get("name")
    if isinstance(name, str):
        return name, data.get("arguments", data.get("parameters", {}))
    return None
