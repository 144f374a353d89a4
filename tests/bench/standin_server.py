"""A minimal stand-in inference server for client benchmarks: 16 tokens per answer, no think time.

Routes: POST /v1/chat/completions (streamed when asked, usage included), POST /generate (TGI's shape),
POST /generate_stream (TGI's events) and TGI's `/`, which text-generation's client uses. Every answer is
prebuilt bytes, so the server costs as little as possible and the client is what the benchmark measures.
Run: `python standin_server.py PORT [CPU]`.
"""

from __future__ import annotations

import json
import os
import sys

from aiohttp import web

TOKENS = 16
_TEXT = "".join(f" tok{i}" for i in range(TOKENS))


def _event(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _chunk(delta: dict[str, str], finish: str | None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return _event({"object": "chat.completion.chunk", "choices": [choice]})


def _token(i: int) -> dict[str, object]:
    return {"id": i, "text": f" tok{i}", "logprob": -0.5, "special": False}


USAGE = {"prompt_tokens": 8, "completion_tokens": TOKENS}
CHAT_EVENT_LIST = [
    *(_chunk({"content": f" tok{i}"}, None) for i in range(TOKENS)),
    _chunk({}, "length"),
    _event({"object": "chat.completion.chunk", "choices": [], "usage": USAGE}),
    b"data: [DONE]\n\n",
]
MESSAGE = {"role": "assistant", "content": _TEXT}
CHAT_WHOLE = json.dumps(
    {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": MESSAGE, "finish_reason": "length"}],
        "usage": USAGE,
    }
).encode()
DETAILS = {"finish_reason": "length", "generated_tokens": TOKENS, "seed": None, "input_length": 8}
GENERATE = json.dumps(
    {
        "generated_text": _TEXT,
        "details": {**DETAILS, "prefill": [], "tokens": [_token(i) for i in range(TOKENS)]},
    }
).encode()
STREAM_EVENTS = [
    _event(
        {
            "index": i + 1,
            "token": _token(i),
            "generated_text": _TEXT if i == TOKENS - 1 else None,
            "details": DETAILS if i == TOKENS - 1 else None,
        }
    )
    for i in range(TOKENS)
]


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if not body.get("stream"):
        return web.Response(body=CHAT_WHOLE, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for event in CHAT_EVENT_LIST:  # one write per token, as an engine streams them
        await response.write(event)
    return response


async def generate(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=GENERATE, content_type="application/json", headers={"x-prompt-tokens": "8"})


async def compat(request: web.Request) -> web.StreamResponse:
    """TGI's `/`: /generate_stream when `stream` is true, else /generate in a one-item list."""
    if (await request.json()).get("stream"):
        return await generate_stream(request)
    return web.Response(body=b"[" + GENERATE + b"]", content_type="application/json")


async def generate_stream(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for event in STREAM_EVENTS:
        await response.write(event)
    return response


def main() -> None:
    if len(sys.argv) > 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(sys.argv[2])})
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/generate", generate)
    app.router.add_post("/generate_stream", generate_stream)
    app.router.add_post("/", compat)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
