"""The client against TGI's own recorded output, replayed over HTTP.

The fixtures in tests/fixtures/tgi are TGI's integration-test snapshots, copied verbatim (paths and commits in
that folder's README.md): chat streams with and without usage, a streamed and a whole tool call, and
`/generate` answers with prefill details. A small aiohttp app replays each as TGI frames it (`data:` events,
then `data:[DONE]`), and the client's record must hold exactly what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from evalclient.client import (
    ChatRequest,
    Completion,
    GenerateRequest,
    LoglikelihoodRequest,
    Sampling,
    ServerClient,
)
from evalclient.engines import get_adapter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tgi"
SAMPLING = Sampling(max_tokens=100)
Replay = Callable[[str], Coroutine[Any, Any, str]]
RECEIVED: dict[str, list[dict[str, Any]]] = {}
"""Request bodies each replay server received, by its base URL."""


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    events = [b"data:" + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks]
    return b"".join(events) + b"data:[DONE]\n\n"


def _generate_answer(snapshot: dict[str, Any], inputs: str) -> dict[str, Any] | None:
    """The snapshot for its own prompt, or for a prefix of it (its prefill cut at that token)."""
    prefill = snapshot["details"]["prefill"]
    for count in range(len(prefill), 0, -1):
        if "".join(t["text"] for t in prefill[:count]) == inputs:
            details = {**snapshot["details"], "prefill": prefill[:count]}
            return {**snapshot, "details": details}
    return None


@pytest.fixture
def replay(serve_app: Callable[[web.Application], Coroutine[Any, Any, str]]) -> Replay:
    """`await replay(fixture_name)` → base URL of a server answering every request with that recording."""

    async def start(name: str) -> str:
        snapshot = _load(name)
        seen: list[dict[str, Any]] = []

        async def chat(request: web.Request) -> web.StreamResponse:
            seen.append(await request.json())
            if isinstance(snapshot, list):
                return web.Response(body=_sse(snapshot), content_type="text/event-stream")
            return web.json_response(snapshot)

        async def generate(request: web.Request) -> web.Response:
            body = await request.json()
            seen.append(body)
            answer = _generate_answer(snapshot, body["inputs"])
            if answer is None:
                return web.json_response({"error": "not recorded", "error_type": "validation"}, status=422)
            return web.json_response(answer)

        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_post("/generate", generate)
        url = await serve_app(app)
        RECEIVED[url] = seen
        return url

    return start


async def _send(url: str, request: Any) -> Completion:
    async with ServerClient(url, protocols=get_adapter("tgi").protocols(), max_retries=0) as client:
        return await client.send(request)


def _chat(stream: bool = True, sampling: Sampling = SAMPLING) -> ChatRequest:
    return ChatRequest("q", ({"role": "user", "content": "hi"},), sampling, stream=stream)


async def test_stream_without_usage_keeps_the_text_exactly(replay: Replay) -> None:
    record = await _send(
        await replay("test_flash_llama_grammar_tools_sea_creatures_stream_none.json"), _chat()
    )
    assert record.ok, record.error
    assert record.text == (
        "Once upon a time, in a vibrant ocean filled with coral reefs and schools of shimmering fish, lived "
        "three dear friends: Luna the sea turtle, Finley the friendly fish, and Crusty the wise crab.\n\n"
        "Luna was the oldest of the three. She had traveled the world, exploring hidden caves and "
        "shipwrecks, and collecting sparkling shells and shiny pebbles. Her shell was a beautiful mosaic of "
        "blues and greens, and her gentle eyes twinkled with the secrets of the deep"
    )
    assert record.finish_reason == "length"
    assert (record.prompt_tokens, record.completion_tokens) == (None, None)  # no usage sent: none invented
    assert record.tool_calls == []
    assert len(record.itl_ms) == 99  # 100 content events: one TTFT, 99 gaps


async def test_sampling_is_sent_in_full_in_tgi_terms(replay: Replay) -> None:
    url = await replay("test_flash_llama_completion_stream_usage.json")
    async with ServerClient(url, protocols=get_adapter("tgi").protocols(), model="m") as client:
        request = _chat(sampling=Sampling(max_tokens=10, stop=("\n\n",)))
        await client.send(request)
    assert RECEIVED[url] == [
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": 10,
            "temperature": 0.0,
            "seed": 1234,
            "stop": ["\n\n"],
        }
    ]


async def test_stream_with_usage_keeps_trailing_newlines_and_counts(replay: Replay) -> None:
    record = await _send(await replay("test_flash_llama_completion_stream_usage.json"), _chat())
    assert record.ok, record.error
    assert record.text == "**Deep Learning: An Overview**\n=====================================\n\n"
    assert (record.prompt_tokens, record.completion_tokens) == (40, 10)
    assert record.finish_reason == "length"


async def test_streamed_tool_call_is_assembled(replay: Replay) -> None:
    record = await _send(await replay("test_flash_llama_grammar_tools_choice_stream.json"), _chat())
    assert record.ok, record.error
    assert record.text == ""
    [call] = record.tool_calls
    assert call.name == "get_current_weather"
    assert call.id == "0"
    assert call.arguments_text == '{ "location": "Brooklyn, NY", "format": "fahrenheit"}'
    assert call.arguments == {"location": "Brooklyn, NY", "format": "fahrenheit"}
    assert call.parse_error is None
    assert record.finish_reason is None


async def test_whole_tool_call_message(replay: Replay) -> None:
    url = await replay("test_flash_llama_grammar_tools_nostream.json")
    record = await _send(url, _chat(stream=False))
    assert record.ok, record.error
    [call] = record.tool_calls
    assert (call.name, call.arguments) == (
        "get_current_weather",
        {"location": "Brooklyn, NY", "format": "fahrenheit"},
    )
    assert call.arguments_text == '{"location":"Brooklyn, NY","format":"fahrenheit"}'
    assert (record.prompt_tokens, record.completion_tokens, record.finish_reason) == (501, 29, "stop")
    assert record.text == ""


async def test_generate_details_with_prefill(replay: Replay) -> None:
    url = await replay("test_flash_qwen2.json")
    record = await _send(
        url, GenerateRequest("g", "Test request", Sampling(max_tokens=10), prefill_details=True)
    )
    assert record.ok, record.error
    assert record.text == "\n# Create a request\nrequest = requests.get"
    assert (record.finish_reason, record.completion_tokens) == ("length", 10)
    assert record.prefill is not None
    assert [(t.text, t.logprob, t.id) for t in record.prefill] == [
        ("Test", None, 2271),
        (" request", -8.8515625, 1681),
    ]
    assert record.prompt_tokens == 2
    assert record.logprobs is not None
    assert len(record.logprobs) == 10
    assert sum(t.logprob or 0.0 for t in record.logprobs) == pytest.approx(-15.884644, abs=1e-6)


async def test_loglikelihood_from_recorded_prefill(replay: Replay) -> None:
    url = await replay("test_bloom_560m.json")
    request = LoglikelihoodRequest("l", "Pour déguster un ortolan", ", il faut tout d'abord")
    record = await _send(url, request)
    assert record.ok, record.error
    assert record.continuation_tokens == 5
    assert record.loglikelihood == pytest.approx(-1.4013672 - 1.5595703 - 0.9428711 - 3.703125 - 1.7763672)
    assert record.prefill is not None
    assert [t.text for t in record.prefill] == [",", " il", " faut", " tout", " d'abord"]
    assert record.prompt_tokens == 11


async def test_loglikelihood_single_token_continuation_after_null_first_logprob(replay: Replay) -> None:
    record = await _send(await replay("test_flash_qwen2.json"), LoglikelihoodRequest("l", "Test", " request"))
    assert record.ok, record.error
    assert (record.loglikelihood, record.continuation_tokens) == (-8.8515625, 1)
