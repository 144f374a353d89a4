"""The simulator's HTTP API in TGI's shapes, served in-process on 127.0.0.1 (simulated time)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from evalclient.sim.config import SimConfig
from evalclient.sim.rules import RuleSet, parse_rules
from evalclient.sim.scheduler import Clock, SimulatedClock
from evalclient.sim.server import SimServer

MODEL = "Qwen/Qwen2.5-7B-Instruct"
RULES = parse_rules(
    {
        "rules": [
            {"match": "capital of France", "response": "The capital of France is Paris."},
            {"match": "capital of France", "response": "never used: the first rule wins"},
            {"match": "favourite model", "model": "Qwen3", "response": "Qwen3 here."},
            {"match": "call a tool", "response": '{"name": "get_weather", "arguments": {"city": "Paris"}}'},
            {
                "match": "call two tools",
                "response": '[{"name": "get_weather", "arguments": {"city": "Paris"}}, '
                '{"name": "get_time", "arguments": {"zone": "Europe/Paris", "hour24": true}}]',
            },
            {"match": "long story", "response": " ".join(f"word{i}" for i in range(200))},
        ],
        "default": "I am not certain. The answer is 37.",
    }
)

Running = Callable[..., AbstractAsyncContextManager[tuple["TestClient[Any, Any]", SimServer]]]


@asynccontextmanager
async def running_sim(
    clock: Clock | None = None, rules: RuleSet = RULES, **overrides: Any
) -> AsyncIterator[tuple[TestClient[Any, Any], SimServer]]:
    overrides.setdefault("model_id", MODEL)
    config = SimConfig.for_profile("fast", **overrides)
    sim = SimServer(config, rules, clock or SimulatedClock())
    client: TestClient[Any, Any] = TestClient(TestServer(sim.app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, sim
    finally:
        await client.close()


@pytest.fixture
def sim() -> Running:
    return running_sim


def sse_payloads(body: str) -> list[str]:
    """Split an SSE body into `data:` payloads, checking the framing on the way."""
    assert body.endswith("\n\n")
    events = body[:-2].split("\n\n")
    assert all(event.startswith("data:") and "\n" not in event for event in events), events
    return [event[len("data:") :] for event in events]


async def test_health_and_info(sim: Running) -> None:
    async with sim(max_batch_total_tokens=16000, revision="a" * 40) as (client, _):
        health = await client.get("/health")
        assert health.status == 200
        info = await (await client.get("/info")).json()
    for key in (
        "model_id",
        "model_sha",
        "model_dtype",
        "model_device_type",
        "max_concurrent_requests",
        "max_best_of",
        "max_stop_sequences",
        "max_input_tokens",
        "max_total_tokens",
        "validation_workers",
        "max_client_batch_size",
        "router",
        "version",
        "sha",
        "docker_label",
    ):
        assert key in info
    assert info["model_id"] == MODEL
    assert info["model_sha"] == "a" * 40
    assert info["router"] == "text-generation-router"
    assert (info["max_input_tokens"], info["max_total_tokens"]) == (4095, 4096)
    simulator = info["simulator"]
    assert simulator["slots"] == 8
    assert simulator["decode_step_ms"] == 1.0
    assert simulator["max_tokens_per_second"] == 8000.0
    assert simulator["max_batch_total_tokens"] == 16000


async def test_generate_with_details_and_prefill(sim: Running) -> None:
    async with sim(prefill_logprobs=True) as (client, _):
        payload = {
            "inputs": "What is the capital of France?",
            "parameters": {"max_new_tokens": 50, "details": True, "decoder_input_details": True},
        }
        resp = await client.post("/generate", json=payload)
        assert resp.status == 200
        assert resp.headers["x-prompt-tokens"] == "7"
        body = await resp.json()
    assert body["generated_text"] == "The capital of France is Paris."
    details = body["details"]
    assert details["finish_reason"] == "eos_token"
    assert details["generated_tokens"] == len(details["tokens"]) == 8
    assert details["seed"] is None
    assert set(details["tokens"][0]) == {"id", "text", "logprob", "special"}
    assert details["tokens"][-1]["special"] is True
    assert [p["text"] for p in details["prefill"]][:2] == ["What", " is"]
    assert details["prefill"][0]["logprob"] is None


async def test_prefill_is_empty_without_the_launcher_flag(sim: Running) -> None:
    async with sim() as (client, _):
        payload = {
            "inputs": "What is it?",
            "parameters": {"max_new_tokens": 2, "decoder_input_details": True},
        }
        body = await (await client.post("/generate", json=payload)).json()
    assert body["details"]["prefill"] == []


async def test_generate_without_details_and_full_text(sim: Running) -> None:
    async with sim() as (client, _):
        body = await (await client.post("/generate", json={"inputs": "capital of France"})).json()
        assert body == {"generated_text": "The capital of France is Paris."}
        params = {"return_full_text": True, "max_new_tokens": 3}
        body = await (await client.post("/generate", json={"inputs": "Q:", "parameters": params})).json()
        assert body["generated_text"] == "Q:I am not"


async def test_generate_truncation_and_stop_sequences(sim: Running) -> None:
    async with sim() as (client, _):
        params: dict[str, Any] = {"max_new_tokens": 4, "details": True}
        body = await (
            await client.post("/generate", json={"inputs": "long story", "parameters": params})
        ).json()
        assert body["generated_text"] == "word0 word1 word2 word3"
        assert body["details"]["finish_reason"] == "length"
        params = {"stop": [" is"], "details": True}
        body = await (
            await client.post("/generate", json={"inputs": "capital of France", "parameters": params})
        ).json()
        assert body["generated_text"] == "The capital of France is"
        assert body["details"]["finish_reason"] == "stop_sequence"


async def test_sampling_reports_a_seed_but_answers_the_same(sim: Running) -> None:
    async with sim() as (client, _):
        params = {"do_sample": True, "temperature": 0.7, "seed": 42, "details": True}
        body = await (
            await client.post("/generate", json={"inputs": "capital of France", "parameters": params})
        ).json()
    assert body["details"]["seed"] == 42
    assert body["generated_text"] == "The capital of France is Paris."


async def test_generate_stream_events(sim: Running) -> None:
    async with sim() as (client, _):
        payload = {"inputs": "capital of France", "parameters": {"details": True}}
        resp = await client.post("/generate_stream", json=payload)
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        events = [json.loads(p) for p in sse_payloads(await resp.text())]
    assert [e["index"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["generated_text"] is None and e["details"] is None for e in events[:-1])
    last = events[-1]
    assert last["generated_text"] == "The capital of France is Paris."
    assert last["details"] == {
        "finish_reason": "eos_token",
        "generated_tokens": len(events),
        "seed": None,
        "input_length": 3,
    }
    text = "".join(e["token"]["text"] for e in events if not e["token"]["special"])
    assert text == last["generated_text"]


async def test_compat_route_wraps_generate_in_a_list(sim: Running) -> None:
    async with sim() as (client, _):
        body = await (await client.post("/", json={"inputs": "capital of France", "parameters": {}})).json()
        assert body == [{"generated_text": "The capital of France is Paris."}]
        resp = await client.post("/", json={"inputs": "capital of France", "stream": True})
        assert len(sse_payloads(await resp.text())) == 8


async def test_chat_completion(sim: Running) -> None:
    async with sim() as (client, _):
        payload = {
            "model": "tgi",
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]},
            ],
            "max_tokens": 100,
            "temperature": 0,
        }
        body = await (await client.post("/v1/chat/completions", json=payload)).json()
    assert body["object"] == "chat.completion"
    assert body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "The capital of France is Paris."}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["completion_tokens"] == 8
    assert usage["prompt_tokens"] > 10
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_chat_finish_reasons_length_and_stop_sequence(sim: Running) -> None:
    async with sim() as (client, _):
        messages = [{"role": "user", "content": "capital of France"}]
        body = await (
            await client.post("/v1/chat/completions", json={"messages": messages, "max_tokens": 2})
        ).json()
        assert body["choices"][0]["finish_reason"] == "length"
        assert body["choices"][0]["message"]["content"] == "The capital"
        body = await (
            await client.post("/v1/chat/completions", json={"messages": messages, "stop": "France"})
        ).json()
        assert body["choices"][0]["finish_reason"] == "stop_sequence"
        assert body["choices"][0]["message"]["content"] == "The capital of France"


async def test_chat_stream_with_usage_and_done(sim: Running) -> None:
    async with sim() as (client, _):
        payload = {
            "messages": [{"role": "user", "content": "capital of France"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "logprobs": True,
        }
        resp = await client.post("/v1/chat/completions", json=payload)
        assert resp.status == 200
        payloads = sse_payloads(await resp.text())
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 8
    content_chunks = chunks[:-1]
    assert all(c["usage"] is None for c in content_chunks)
    assert [c["choices"][0]["finish_reason"] for c in content_chunks] == [None] * 7 + ["stop"]
    text = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
    assert text == "The capital of France is Paris."
    assert content_chunks[0]["choices"][0]["logprobs"]["content"][0]["token"] == "The"


async def test_chat_stream_without_usage_has_no_usage_chunk(sim: Running) -> None:
    async with sim() as (client, _):
        payload = {"messages": [{"role": "user", "content": "capital of France"}], "stream": True}
        payloads = sse_payloads(await (await client.post("/v1/chat/completions", json=payload)).text())
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["choices"] and c["usage"] is None for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_chat_tool_call_when_tools_are_offered(sim: Running) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    async with sim() as (client, _):
        payload = {"messages": [{"role": "user", "content": "call a tool"}], "tools": tools}
        body = await (await client.post("/v1/chat/completions", json=payload)).json()
        message = body["choices"][0]["message"]
        assert message["content"] is None
        [call] = message["tool_calls"]
        assert (call["id"], call["function"]["name"]) == ("0", "get_weather")
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
        payload["stream"] = True
        payloads = sse_payloads(await (await client.post("/v1/chat/completions", json=payload)).text())
        deltas = [json.loads(p)["choices"][0]["delta"]["tool_calls"] for p in payloads[:-1]]
        assert len(deltas) == 4  # the arguments come in pieces, one delta per chunk
        assert all(len(d) == 1 for d in deltas)
        assert deltas[0][0]["function"]["name"] == "get_weather"
        assert all(d[0]["function"]["name"] is None for d in deltas[1:])
        assert json.loads("".join(d[0]["function"]["arguments"] for d in deltas)) == {"city": "Paris"}
        assert json.loads(payloads[-2])["choices"][0]["finish_reason"] == "stop"
        payload = {"messages": [{"role": "user", "content": "call a tool"}]}
        body = await (await client.post("/v1/chat/completions", json=payload)).json()
        assert body["choices"][0]["message"]["content"].startswith('{"name"')


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("limits", ["tgi-3.3.7", "none"])
async def test_parallel_tool_calls_reach_the_client(sim: Running, stream: bool, limits: str) -> None:
    """A rule answering a JSON list makes parallel calls on a lenient server; TGI's tool grammar admits one
    call per turn (router/src/infer/tool_grammar.rs), so a TGI-profile simulator makes the first only. The
    client assembles them, streamed or not."""
    from evalclient.client import ChatRequest, RequestKind, Sampling, ServerClient
    from evalclient.engines import get_adapter

    tools = ({"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},)
    request = ChatRequest(
        "p", ({"role": "user", "content": "call two tools"},), Sampling(max_tokens=200), tools, stream=stream
    )
    async with sim(engine_limits=limits) as (client, _):
        url = str(client.make_url("")).rstrip("/")
        async with ServerClient(url, protocols=get_adapter("tgi").protocols()) as server:
            record = await server.send(request)
    assert (record.kind, record.error, record.text) == (RequestKind.CHAT, None, "")
    calls = [(c.name, c.arguments, c.id, c.source) for c in record.tool_calls]
    both = [
        ("get_weather", {"city": "Paris"}, "0", "api"),
        ("get_time", {"zone": "Europe/Paris", "hour24": True}, "1", "api"),
    ]
    assert calls == (both[:1] if limits == "tgi-3.3.7" else both)


async def test_rules_model_filter_through_the_api(sim: Running) -> None:
    payload = {"inputs": "your favourite model?", "parameters": {"max_new_tokens": 20}}
    async with sim(model_id="Qwen/Qwen3-8B") as (client, _):
        body = await (await client.post("/generate", json=payload)).json()
        assert body["generated_text"] == "Qwen3 here."
    async with sim() as (client, _):
        body = await (await client.post("/generate", json=payload)).json()
        assert body["generated_text"] == "I am not certain. The answer is 37."


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"inputs": " ".join(["x"] * 30), "parameters": {"max_new_tokens": 90}},
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 100. "
            "Given: 30 `inputs` tokens and 90 `max_new_tokens`",
        ),
        (
            {"inputs": " ".join(["x"] * 60), "parameters": {"max_new_tokens": 1}},
            "Input validation error: `inputs` must have less than 50 tokens. Given: 60",
        ),
        ({"inputs": "", "parameters": {}}, "Input validation error: `inputs` cannot be empty"),
        (
            {"inputs": "hi", "parameters": {"temperature": 0}},
            "Input validation error: `temperature` must be strictly positive",
        ),
        (
            {"inputs": "hi", "parameters": {"top_p": 1.0}},
            "Input validation error: `top_p` must be > 0.0 and < 1.0",
        ),
        (
            {"inputs": "hi", "parameters": {"stop": ["a", "b", "c", "d", "e"]}},
            "Input validation error: `stop` supports up to 4 stop sequences. Given: 5",
        ),
        (
            {"inputs": "hi", "parameters": {"max_new_tokens": 0}},
            "Input validation error: `max_new_tokens` must be strictly positive",
        ),
    ],
)
async def test_validation_errors_are_422(sim: Running, payload: dict[str, Any], message: str) -> None:
    async with sim(max_total_tokens=100, max_input_tokens=50) as (client, server):
        resp = await client.post("/generate", json=payload)
        assert resp.status == 422
        assert await resp.json() == {"error": message, "error_type": "validation"}
        assert server.engine.metrics.counter_value("tgi_request_failure", err="validation") == 1


async def test_chat_validation_error_is_422(sim: Running) -> None:
    async with sim(max_total_tokens=100, max_input_tokens=50) as (client, _):
        payload = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 500}
        resp = await client.post("/v1/chat/completions", json=payload)
        assert resp.status == 422
        assert (await resp.json())["error_type"] == "validation"


async def test_stream_validation_errors_arrive_inside_the_stream(sim: Running) -> None:
    async with sim() as (client, _):
        payload = {"inputs": "hi", "parameters": {"decoder_input_details": True}}
        resp = await client.post("/generate_stream", json=payload)
        assert resp.status == 200
        events = [json.loads(p) for p in sse_payloads(await resp.text())]
        assert events == [
            {
                "error": "Input validation error: `decoder_input_details` == true is not supported "
                "when streaming tokens",
                "error_type": "validation",
            }
        ]


async def test_bad_bodies_get_plain_text_errors(sim: Running) -> None:
    async with sim() as (client, _):
        resp = await client.post("/generate", data=b"{not json", headers={"Content-Type": "application/json"})
        assert resp.status == 400
        assert "Failed to parse the request body as JSON" in await resp.text()
        resp = await client.post("/generate", json={"parameters": {}})
        assert resp.status == 422
        assert "inputs: missing field" in await resp.text()
        resp = await client.post("/v1/chat/completions", json={"messages": "hi"})
        assert resp.status == 422


class GateClock(SimulatedClock):
    """Simulated time that stands still until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        await self.gate.wait()
        await super().sleep(seconds)


async def wait_for(predicate: Callable[[], bool], seconds: float = 1.0) -> None:
    for _ in range(int(seconds * 1000)):
        if predicate():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


async def test_overloaded_at_the_concurrency_limit(sim: Running) -> None:
    clock = GateClock()
    async with sim(clock=clock, max_concurrent_requests=2) as (client, server):
        payload = {"inputs": "capital of France"}
        held = [asyncio.ensure_future(client.post("/generate", json=payload)) for _ in range(2)]
        await wait_for(lambda: server.engine.inflight == 2)
        resp = await client.post("/generate", json=payload)
        assert resp.status == 429
        assert await resp.json() == {"error": "Model is overloaded", "error_type": "overloaded"}
        stream = await client.post("/generate_stream", json=payload)
        assert stream.status == 200
        assert [json.loads(p) for p in sse_payloads(await stream.text())] == [
            {"error": "Model is overloaded", "error_type": "overloaded"}
        ]
        chat = await client.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}
        )
        assert chat.status == 429
        clock.gate.set()
        assert [r.status for r in await asyncio.gather(*held)] == [200, 200]
        assert server.engine.inflight == 0
        assert server.engine.metrics.counter_value("tgi_request_failure", err="overloaded") == 3
        after = await client.post("/generate", json=payload)
        assert after.status == 200


async def test_metrics_gauges_show_the_running_batch(sim: Running) -> None:
    clock = GateClock()
    async with sim(clock=clock) as (client, _):
        payload = {"inputs": "capital of France", "parameters": {"max_new_tokens": 10}}
        held = [asyncio.ensure_future(client.post("/generate", json=payload)) for _ in range(3)]
        await asyncio.sleep(0.05)
        text = await (await client.get("/metrics")).text()
        assert "tgi_batch_current_size 3" in text
        assert "tgi_batch_current_max_tokens 39" in text
        assert "tgi_queue_size 0" in text
        clock.gate.set()
        await asyncio.gather(*held)


async def test_metrics_count_requests(sim: Running) -> None:
    async with sim() as (client, _):
        for _ in range(3):
            await client.post("/generate", json={"inputs": "capital of France"})
        await client.post("/generate", json={"inputs": ""})
        resp = await client.get("/metrics")
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    lines = text.splitlines()
    assert "tgi_request_count 4" in lines
    assert "tgi_request_success 3" in lines
    assert 'tgi_request_failure{err="validation"} 1' in lines
    assert "# TYPE tgi_request_duration histogram" in lines
    assert "tgi_request_duration_count 3" in lines
    assert 'tgi_request_duration_bucket{le="+Inf"} 3' in lines
    assert "tgi_request_generated_tokens_sum 24" in lines
    assert "tgi_request_input_length_sum 9" in lines
    assert "tgi_request_input_length_count 3" in lines
    for name in ("tgi_batch_current_size", "tgi_batch_current_max_tokens", "tgi_queue_size"):
        assert f"# TYPE {name} gauge" in lines


async def test_fault_503_for_the_first_requests(sim: Running) -> None:
    async with sim(fault_503_first=2) as (client, _):
        statuses = []
        for _ in range(3):
            resp = await client.post("/generate", json={"inputs": "capital of France"})
            statuses.append(resp.status)
            if resp.status == 503:
                assert (await resp.json())["error_type"] == "unavailable"
        assert statuses == [503, 503, 200]
        assert (await client.get("/health")).status == 200


async def test_fault_error_inside_every_nth_stream(sim: Running) -> None:
    async with sim(fault_stream_error_every=2) as (client, server):
        payload = {"inputs": "capital of France"}
        first = sse_payloads(await (await client.post("/generate_stream", json=payload)).text())
        second = sse_payloads(await (await client.post("/generate_stream", json=payload)).text())
        chat_payload = {"messages": [{"role": "user", "content": "capital of France"}], "stream": True}
        third = sse_payloads(await (await client.post("/v1/chat/completions", json=chat_payload)).text())
        fourth = sse_payloads(await (await client.post("/v1/chat/completions", json=chat_payload)).text())
        assert server.engine.metrics.counter_value("tgi_request_failure", err="generation") == 2
    assert "error" not in json.loads(first[-1])
    assert json.loads(first[-1])["generated_text"] is not None
    error = json.loads(second[-1])
    assert error["error_type"] == "generation"
    assert error["error"].startswith("Request failed during generation")
    assert 0 < len(second) - 1 < len(first)
    assert third[-1] == "[DONE]"
    assert "error" not in json.loads(third[-2])
    assert fourth[-1] == "[DONE]"
    assert json.loads(fourth[-2])["error"]["http_status_code"] == 422


async def test_crash_after_n_generation_requests(sim: Running) -> None:
    async with sim(crash_after=2) as (client, server):
        await client.post("/generate", json={"inputs": "a"})
        assert not server.crashed.is_set()
        await client.get("/health")
        assert not server.crashed.is_set()
        await client.post("/generate", json={"inputs": ""})
        assert server.crashed.is_set()


async def test_models_route(sim: Running) -> None:
    async with sim() as (client, _):
        body = await (await client.get("/v1/models")).json()
    assert body["data"][0]["id"] == MODEL


async def test_create_app_serves_with_the_fast_profile() -> None:
    from evalclient.sim import create_app

    app = create_app(clock=SimulatedClock())
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        info = await (await client.get("/info")).json()
        assert info["simulator"]["profile"] == "fast"
        body = await (await client.post("/generate", json={"inputs": "hello"})).json()
        assert body["generated_text"].startswith(("I am", "Let me", "Based on"))
    finally:
        await client.close()


async def test_a_client_that_goes_away_frees_its_slot(sim: Running) -> None:
    from evalclient.sim.scheduler import RealClock

    async with sim(clock=RealClock(), decode_step_ms=20.0) as (client, server):
        resp = await client.post("/generate_stream", json={"inputs": "long story"})
        first = await resp.content.readline()
        assert first.startswith(b"data:{")
        assert server.engine.scheduler.batch_size == 1
        resp.close()
        await wait_for(lambda: server.engine.inflight == 0 and server.engine.scheduler.idle, seconds=2)
        assert server.engine.metrics.counter_value("tgi_request_success") == 0
