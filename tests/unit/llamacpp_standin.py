"""A llama-server stand-in (aiohttp) answering in llama.cpp b11312's shapes, for the unit tests.

Shapes from ggml-org/llama.cpp at b11312 (commit 0c1e57098): `/health` and every other route answer 503
`{"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}}` until the model is loaded
(tools/server/server-http.cpp), then `{"status": "ok"}`; `/props` (server-context.cpp get_res_props);
`/v1/models` (get_res_models: `owned_by` "llamacpp"); `/metrics` (server-task.cpp to_metrics: `# HELP` /
`# TYPE` / value lines, doubles written by a C++ stringstream); `/v1/chat/completions` streamed as
to_json_oaicompat_chat_stream writes it (deltas, a finish chunk, then a usage chunk with empty choices).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

BUILD_INFO = "b11312-0c1e57098"
LOADING = {"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}}
COUNTERS = (
    ("prompt_tokens_total", "Number of prompt tokens processed, excluding cached tokens", "1.23457e+06"),
    ("prompt_tokens_cached_total", "Number of prompt tokens reused from the cache", "512"),
    ("prompt_seconds_total", "Total time spent processing prompts", "3.5"),
    ("tokens_predicted_total", "Number of generation tokens processed", "4096"),
    ("tokens_predicted_seconds_total", "Total time spent generating tokens", "20.25"),
    ("n_decode_total", "Total number of llama_decode() calls, excluding speculative decoding and "
     "multimodal decoding", "900"),
    ("n_tokens_max", "Largest observed sequence length (prompt + generation)", "2048"),
)  # fmt: skip
GAUGES = (
    ("prompt_tokens_seconds", "Average prompt throughput in tokens/s", "812.5"),
    ("predicted_tokens_seconds", "Average generation throughput in tokens/s", "95.25"),
    ("requests_processing", "Number of requests processing", "3"),
    ("requests_deferred", "Number of requests deferred", "2"),
    ("n_busy_slots_per_decode", "Average number of busy slots per llama_decode() call", "2.5"),
)


def exposition() -> str:
    """`/metrics` as server_task_result_metrics::to_metrics writes it (counters, then gauges)."""
    lines = []
    for kind, items in (("counter", COUNTERS), ("gauge", GAUGES)):
        for name, help_text, value in items:
            lines += [f"# HELP llamacpp:{name} {help_text}", f"# TYPE llamacpp:{name} {kind}"]
            lines.append(f"llamacpp:{name} {value}")
    return "\n".join(lines) + "\n"


def props(slots: int = 4) -> dict[str, Any]:
    """`/props` with the fields get_res_props writes (values for one small model)."""
    return {
        "default_generation_settings": {"params": {"temperature": 0.8, "top_k": 40}, "n_ctx": 8192},
        "total_slots": slots,
        "model_alias": "Qwen2.5-7B-Instruct-Q8_0",
        "model_ftype": "Q8_0",
        "model_path": "/root/.cache/huggingface/hub/models--lmstudio-community--Qwen2.5-7B-Instruct-GGUF/"
        "snapshots/0/Qwen2.5-7B-Instruct-Q8_0.gguf",
        "modalities": {"vision": False, "video": False, "audio": False},
        "endpoint_slots": True,
        "endpoint_props": False,
        "endpoint_metrics": True,
        "chat_template": "{{ messages }}",
        "bos_token": "",
        "eos_token": "<|im_end|>",
        "build_info": BUILD_INFO,
        "is_sleeping": False,
    }


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
    body = {
        "choices": choices,
        "created": 0,
        "id": "chatcmpl-1",
        "model": "m",
        "object": "chat.completion.chunk",
    }
    body["system_fingerprint"] = BUILD_INFO
    return b"data: " + json.dumps({**body, **extra}).encode() + b"\n\n"


def _delta(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"finish_reason": finish, "index": 0, "delta": delta}


STREAM = (
    _chunk([_delta({"content": "Let me call it."})]),
    _chunk([_delta({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "add"}}]})]),  # noqa: E501
    _chunk([_delta({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1, '}}]})]),
    _chunk([_delta({"tool_calls": [{"index": 0, "function": {"arguments": '"b": 2}'}}]})]),
    _chunk([_delta({}, "tool_calls")]),
    _chunk([], usage={"completion_tokens": 9, "prompt_tokens": 21, "total_tokens": 30,
                      "prompt_tokens_details": {"cached_tokens": 0}}),
    b"data: [DONE]\n\n",
)  # fmt: skip


class LlamaServer:
    """The stand-in's state: loading or ready, and the chat bodies it was sent."""

    def __init__(self, *, loading: bool = False, slots: int = 4) -> None:
        self.loading = loading
        self.slots = slots
        self.bodies: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._loading])
        app.router.add_get("/health", answer({"status": "ok"}))
        app.router.add_get("/props", answer(props(self.slots)))
        app.router.add_get("/v1/models", answer(_models()))
        app.router.add_get("/metrics", self._metrics)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=exposition(), content_type="text/plain")

    @web.middleware
    async def _loading(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.loading:
            return web.json_response(LOADING, status=503)
        response: web.StreamResponse = await handler(request)
        return response

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in STREAM:
            await response.write(event)
        await response.write_eof()
        return response


def answer(body: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A GET handler answering `body` as JSON."""

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(body)

    return handler


def _models() -> dict[str, Any]:
    card = {"id": "Qwen2.5-7B-Instruct-Q8_0", "object": "model", "created": 0, "owned_by": "llamacpp"}
    return {"models": [{"name": card["id"], "model": card["id"]}], "object": "list", "data": [card]}
