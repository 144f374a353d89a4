"""vLLM's and SGLang's protocols against answers in their documented shapes, and tool-call readings.

vLLM `/v1/completions` with `echo` + `logprobs`: parallel lists `tokens`, `token_logprobs`, `top_logprobs`
(dicts of decoded token -> logprob, null for the first prompt token), prompt tokens first. SGLang native
`/generate` with `return_logprob`: `meta_info.input_token_logprobs` as `[logprob, id, text]` triples.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from aiohttp import web

from evalclient.client import ChatRequest, LoglikelihoodRequest, Sampling, ServerClient
from evalclient.client.protocols import OpenAIChat
from evalclient.client.tool_calls import ToolCallAssembler, text_tool_calls
from evalclient.engines import get_adapter

# A prompt "The sky is blue" as a server tokenizes it: token, logprob, top-1 alternative.
TOKENS = [
    ("The", None, None),
    (" sky", -3.0, (" sky", -3.0)),
    (" is", -0.5, (" is", -0.5)),
    (" blue", -1.25, (" red", -0.75)),
]
Start = Callable[[str], Coroutine[Any, Any, str]]


def _prefix(prompt: str) -> list[tuple[str, float | None, tuple[str, float] | None]]:
    text, out = "", []
    for token in TOKENS:
        if text == prompt:
            break
        text += token[0]
        out.append(token)
    assert text == prompt, prompt
    return out


async def _vllm(request: web.Request) -> web.Response:
    body = await request.json()
    assert (body["echo"], body["logprobs"], body["max_tokens"]) == (True, 1, 1)
    tokens = [*_prefix(body["prompt"]), ("!", -2.0, ("!", -2.0))]
    logprobs = {
        "tokens": [t for t, _, _ in tokens],
        "token_logprobs": [lp for _, lp, _ in tokens],
        "top_logprobs": [None if top is None else {top[0]: top[1], t: lp} for t, lp, top in tokens],
        "text_offset": [0] * len(tokens),
    }
    usage = {"prompt_tokens": len(tokens) - 1, "completion_tokens": 1, "total_tokens": len(tokens)}
    choice = {"index": 0, "text": body["prompt"] + "!", "logprobs": logprobs, "finish_reason": "length"}
    return web.json_response({"object": "text_completion", "choices": [choice], "usage": usage})


async def _sglang(request: web.Request) -> web.Response:
    body = await request.json()
    assert (body["return_logprob"], body["logprob_start_len"], body["top_logprobs_num"]) == (True, 0, 1)
    tokens = _prefix(body["text"])
    triples = [[lp, 100 + i, t] for i, (t, lp, _) in enumerate(tokens)]
    tops = [None if top is None else [[top[1], 200 + i, top[0]]] for i, (_, _, top) in enumerate(tokens)]
    meta = {
        "prompt_tokens": len(tokens),
        "completion_tokens": 1,
        "input_token_logprobs": triples,
        "input_top_logprobs": tops,
    }
    return web.json_response({"text": "!", "meta_info": meta})


@pytest.fixture
def start(serve_app: Callable[[web.Application], Coroutine[Any, Any, str]]) -> Start:
    async def run(engine: str) -> str:
        app = web.Application()
        app.router.add_post("/v1/completions", _vllm)
        app.router.add_post("/generate", _sglang)
        return await serve_app(app)

    return run


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
async def test_loglikelihood_and_greedy(start: Start, engine: str) -> None:
    async with ServerClient(await start(engine), protocols=get_adapter(engine).protocols()) as client:
        greedy = await client.loglikelihood(LoglikelihoodRequest("a", "The sky", " is", greedy=True))
        not_greedy = await client.loglikelihood(LoglikelihoodRequest("b", "The sky", " is blue", greedy=True))
    assert greedy.ok, greedy.error
    assert (greedy.loglikelihood, greedy.continuation_tokens, greedy.is_greedy) == (-0.5, 1, True)
    assert not_greedy.ok, not_greedy.error
    assert (not_greedy.loglikelihood, not_greedy.continuation_tokens, not_greedy.is_greedy) == (
        -1.75,
        2,
        False,
    )


def test_vllm_and_sglang_chat_bodies_state_every_sampling_knob() -> None:
    request = ChatRequest(
        "1", ({"role": "user", "content": "hi"},), Sampling(max_tokens=5, seed=7), stream=False
    )
    for engine in ("vllm", "sglang"):
        protocol = get_adapter(engine).protocols()[request.kind]
        assert isinstance(protocol, OpenAIChat)
        body = protocol.body(request, "Qwen/Qwen3-8B")
        assert {
            k: body[k]
            for k in ("max_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "seed")
        } == {
            "max_tokens": 5,
            "temperature": 0.0,
            "top_p": 1.0,
            "top_k": -1,
            "min_p": 0.0,
            "repetition_penalty": 1.0,
            "seed": 7,
        }


def test_qwen_tool_call_markup_in_the_text() -> None:
    text = (
        'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        "<tool_call>{oops}</tool_call>"
    )
    first, second = text_tool_calls(text)
    assert (first.name, first.arguments, first.source, first.parse_error) == (
        "get_weather",
        {"city": "Paris"},
        "text",
        None,
    )
    assert second.arguments is None
    assert second.parse_error is not None
    assert second.parse_error.startswith("not JSON")


def test_old_tgi_tool_call_delta_shape() -> None:
    assembler = ToolCallAssembler()
    for piece in ('{"function": {"_name": "get_weather",', ' "city": "Paris"}}'):
        assembler.add({"index": 0, "id": "", "function": {"name": None, "arguments": piece}})
    [call] = assembler.calls()
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
