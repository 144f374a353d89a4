"""The client against the real simulator in-process: streaming timings, usage, retries, stream errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from evalclient.client import GenerationRequest, ServerClient
from evalclient.sim.rules import parse_rules

RULES = parse_rules(
    {"rules": [{"match": "capital of France", "response": "<think>Paris, surely.</think>Paris"}]}
)

ServerFactory = Callable[..., Any]


@pytest.fixture
def sim_server(start_sim: Callable[..., Any]) -> ServerFactory:
    return lambda **overrides: start_sim(RULES, model_id="Qwen/Qwen3-8B", **overrides)


def _request(i: int, text: str = "capital of France?", max_tokens: int = 64) -> GenerationRequest:
    return GenerationRequest(id=str(i), messages=({"role": "user", "content": text},), max_tokens=max_tokens)


async def test_streamed_chat_records_answer_timings_and_usage(sim_server: ServerFactory) -> None:
    async with ServerClient(await sim_server(), concurrency=4) as client:
        record = await client.chat(_request(0))
    assert record.ok, record.error
    assert record.response == "Paris"
    assert record.reasoning == "Paris, surely."
    assert record.ttft_ms is not None
    assert record.latency_ms is not None
    assert record.latency_ms >= record.ttft_ms
    assert record.prompt_tokens is not None
    assert record.prompt_tokens > 0
    assert record.completion_tokens is not None
    assert record.completion_tokens >= 2
    assert record.finish_reason == "stop"
    assert len(record.itl_ms) >= 1


async def test_run_keeps_request_order_and_concurrency(sim_server: ServerFactory) -> None:
    done: list[str] = []
    async with ServerClient(await sim_server(), concurrency=3) as client:
        records = await client.run(
            [_request(i, f"question {i}") for i in range(20)], on_done=lambda r: done.append(r.id)
        )
    assert [r.id for r in records] == [str(i) for i in range(20)]
    assert sorted(done, key=int) == [str(i) for i in range(20)]
    assert all(r.ok for r in records)


async def test_503_is_retried(sim_server: ServerFactory) -> None:
    async with ServerClient(await sim_server(fault_503_first=2), retry_wait_s=0.01) as client:
        record = await client.chat(_request(0))
    assert record.ok, record.error
    assert record.retries == 2


async def test_retries_give_up_with_the_error(sim_server: ServerFactory) -> None:
    async with ServerClient(await sim_server(fault_503_first=10), max_retries=2, retry_wait_s=0.01) as client:
        record = await client.chat(_request(0))
    assert not record.ok
    assert record.retries == 2
    assert record.error is not None
    assert "HTTP 503" in record.error


async def test_error_inside_stream_after_200_is_retried(sim_server: ServerFactory) -> None:
    async with ServerClient(await sim_server(fault_stream_error_every=2), retry_wait_s=0.01) as client:
        first = await client.chat(_request(0))
        second = await client.chat(_request(1))
    assert first.ok
    assert first.retries == 0
    assert second.ok, second.error
    assert second.retries == 1


async def test_overload_beyond_max_concurrent_requests_is_retried(sim_server: ServerFactory) -> None:
    url = await sim_server(max_concurrent_requests=2, decode_step_ms=5.0)
    async with ServerClient(url, concurrency=8, retry_wait_s=0.02, max_retries=20) as client:
        records = await client.run([_request(i, f"q {i}", max_tokens=16) for i in range(8)])
    assert all(r.ok for r in records), [r.error for r in records]
    assert sum(r.retries for r in records) > 0


async def test_validation_error_is_not_retried(sim_server: ServerFactory) -> None:
    async with ServerClient(await sim_server(max_total_tokens=64, max_input_tokens=32)) as client:
        record = await client.chat(_request(0, "word " * 100))
    assert not record.ok
    assert record.retries == 0
    assert record.error is not None
