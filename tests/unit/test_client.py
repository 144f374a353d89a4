"""The client against the real simulator in-process: every request kind, timings, usage, retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from evalclient.client import (
    ChatRequest,
    ErrorKind,
    GenerateRequest,
    LoglikelihoodRequest,
    Sampling,
    ServerClient,
)
from evalclient.engines import get_adapter
from evalclient.sim.generation import prefill_logprob
from evalclient.sim.rules import parse_rules
from evalclient.sim.tokenizer import tokenize

RULES = parse_rules(
    {
        "rules": [
            {"match": "capital of France", "response": "<think>Paris, surely.</think>\n\nParis"},
            {"match": "indent", "response": "    return x\n\n"},
            {"match": "which planet", "response": " Mars is red."},
        ]
    }
)

ServerFactory = Callable[..., Any]


@pytest.fixture
def sim_server(start_sim: Callable[..., Any]) -> ServerFactory:
    return lambda **overrides: start_sim(RULES, model_id="Qwen/Qwen3-8B", **overrides)


def _client(url: str, **kw: Any) -> ServerClient:
    return ServerClient(url, protocols=get_adapter("tgi").protocols(), **kw)


def _request(i: int, text: str = "capital of France?", max_tokens: int = 64) -> ChatRequest:
    return ChatRequest(str(i), ({"role": "user", "content": text},), Sampling(max_tokens=max_tokens))


async def test_streamed_chat_records_answer_timings_and_usage(sim_server: ServerFactory) -> None:
    async with _client(await sim_server(), concurrency=4) as client:
        record = await client.chat(_request(0))
    assert record.ok, record.error
    assert record.text == "<think>Paris, surely.</think>\n\nParis"  # as sent
    assert record.answer == "Paris"
    assert record.reasoning is None  # the server sent no separate reasoning field
    assert record.ttft_ms is not None
    assert record.latency_ms is not None
    assert record.latency_ms >= record.ttft_ms
    assert record.prompt_tokens == len(
        tokenize("<|im_start|>user\ncapital of France?<|im_end|>\n<|im_start|>assistant\n")
    )
    assert record.completion_tokens == len(tokenize(record.text)) + 1  # and the end-of-sequence token
    assert record.finish_reason == "stop"
    assert len(record.itl_ms) == len(tokenize(record.text)) - 1
    assert record.attempts == 1


async def test_leading_indentation_and_trailing_newlines_are_kept(sim_server: ServerFactory) -> None:
    async with _client(await sim_server()) as client:
        streamed = await client.chat(_request(0, "indent"))
        whole = await client.chat(
            ChatRequest("1", ({"role": "user", "content": "indent"},), Sampling(max_tokens=64), stream=False)
        )
        generated = await client.generate(
            GenerateRequest("2", "indent", Sampling(max_tokens=64), stream=True)
        )
    assert streamed.text == whole.text == generated.text == "    return x\n\n"
    assert generated.completion_tokens == len(tokenize("    return x\n\n")) + 1
    assert generated.finish_reason == "eos_token"


async def test_run_keeps_request_order(sim_server: ServerFactory) -> None:
    done: list[str] = []
    async with _client(await sim_server(), concurrency=3) as client:
        records = await client.run(
            [_request(i, f"question {i}") for i in range(20)], on_done=lambda r: done.append(r.request_id)
        )
    assert [r.request_id for r in records] == [str(i) for i in range(20)]
    assert sorted(done, key=int) == [str(i) for i in range(20)]
    assert all(r.ok for r in records)


async def test_503_is_retried(sim_server: ServerFactory) -> None:
    async with _client(await sim_server(fault_503_first=2), retry_wait_s=0.01) as client:
        record = await client.chat(_request(0))
    assert record.ok, record.error
    assert record.retries == 2


async def test_retries_give_up_with_the_typed_error(sim_server: ServerFactory) -> None:
    async with _client(await sim_server(fault_503_first=10), max_retries=2, retry_wait_s=0.01) as client:
        record = await client.chat(_request(0))
    assert record.error is not None
    assert (record.error.kind, record.error.status, record.attempts) == (ErrorKind.OVERLOADED, 503, 3)
    assert record.error.message.startswith("HTTP 503: Service unavailable")


async def test_error_inside_stream_after_200_is_retried(sim_server: ServerFactory) -> None:
    async with _client(await sim_server(fault_stream_error_every=2), retry_wait_s=0.01) as client:
        first = await client.chat(_request(0))
        second = await client.chat(_request(1))
    assert first.ok
    assert first.retries == 0
    assert second.ok, second.error
    assert second.retries == 1
    assert second.text == first.text  # the failed attempt's half answer is gone


async def test_overload_beyond_max_concurrent_requests_is_retried(sim_server: ServerFactory) -> None:
    url = await sim_server(max_concurrent_requests=2, decode_step_ms=5.0)
    async with _client(url, concurrency=8, retry_wait_s=0.02, max_retries=20) as client:
        records = await client.run([_request(i, f"q {i}", max_tokens=16) for i in range(8)])
    assert all(r.ok for r in records), [r.error for r in records]
    assert sum(r.retries for r in records) > 0


async def test_validation_error_is_not_retried(sim_server: ServerFactory) -> None:
    async with _client(await sim_server(max_total_tokens=64, max_input_tokens=32)) as client:
        record = await client.chat(_request(0, "word " * 100))
    assert record.error is not None
    assert record.error.kind == ErrorKind.STREAM_ERROR
    assert record.retries == 0


def _expected_loglikelihood(context: str, continuation: str, expected: bool) -> float:
    """What the simulator assigns: its scripted answer's tokens are expected, the others surprise it."""
    pieces = tokenize(context + continuation)
    start = len(tokenize(context))
    return sum(prefill_logprob(p, i, expected) for i, p in enumerate(pieces) if i >= start)


async def test_loglikelihood_sums_the_continuation_prefill(sim_server: ServerFactory) -> None:
    context, continuation = "Question: which planet is red?\nAnswer:", " Mars is"
    async with _client(await sim_server(prefill_logprobs=True)) as client:
        record = await client.loglikelihood(LoglikelihoodRequest("0", context, continuation, greedy=True))
        other = await client.loglikelihood(LoglikelihoodRequest("1", context, " Venus is", greedy=True))
    assert record.ok, record.error
    assert record.continuation_tokens == 2
    assert record.loglikelihood == pytest.approx(-0.1, abs=1e-9)  # two expected tokens, -0.05 each
    assert record.is_greedy is True  # the simulator answers " Mars is red." to this context
    assert other.ok, other.error
    assert other.loglikelihood == pytest.approx(
        _expected_loglikelihood(context, " Venus is", False), abs=1e-9
    )
    assert other.loglikelihood < -5
    assert other.is_greedy is False


async def test_loglikelihood_without_prefill_logprobs_says_how_to_fix_it(sim_server: ServerFactory) -> None:
    async with _client(await sim_server()) as client:
        record = await client.loglikelihood(LoglikelihoodRequest("0", "Answer:", " yes"))
    assert record.error is not None
    assert record.error.kind == ErrorKind.UNSUPPORTED
    assert "--enable-prefill-logprobs" in record.error.message


async def test_a_context_that_splits_a_token_is_refused(sim_server: ServerFactory) -> None:
    async with _client(await sim_server(prefill_logprobs=True)) as client:
        record = await client.loglikelihood(LoglikelihoodRequest("0", "The answer", "s are"))
    assert record.error is not None
    assert record.error.kind == ErrorKind.MALFORMED
    assert "tokenizes differently" in record.error.message
