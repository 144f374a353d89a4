"""Each kind of fault fails only its own request, with the right error kind; the others keep their answers.

A small aiohttp server answers streamed chats normally, except for requests whose message names a fault:
a malformed event (`{"choices":[null]}`), HTTP 422, a server that never answers in time, a connection dropped
mid-stream, an error event after HTTP 200, and a body that is not JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from aiohttp import web

from evalclient.client import ChatRequest, ErrorKind, Sampling, ServerClient
from evalclient.engines import get_adapter

GOOD = [
    {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]} for piece in ("4", "2\n")
]
END = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
USAGE = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}
CALLS: dict[str, int] = {}


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


async def _chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    fault = body["messages"][-1]["content"]
    CALLS[fault] = CALLS.get(fault, 0) + 1
    if fault == "http_422":
        return web.json_response(
            {"error": "Input validation error: too long", "error_type": "validation"}, status=422
        )
    if fault == "timeout":
        await asyncio.sleep(5)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(_event(GOOD[0]))
    if fault == "malformed":
        await response.write(_event({"choices": [None]}))
    elif fault == "not_json":
        await response.write(b"data: {oops\n\n")
    elif fault == "dropped":
        assert request.transport is not None
        request.transport.close()
        return response
    elif fault == "validation_event":
        await response.write(
            _event({"error": {"message": "Input validation error", "http_status_code": 422}})
        )
    for payload in (GOOD[1], END, USAGE):
        await response.write(_event(payload))
    await response.write(b"data: [DONE]\n\n")
    return response


@pytest.fixture
async def server(serve_app: Callable[[web.Application], Coroutine[Any, Any, str]]) -> str:
    CALLS.clear()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _chat)
    return await serve_app(app)


def _request(i: int, content: str) -> ChatRequest:
    return ChatRequest(str(i), ({"role": "user", "content": content},), Sampling(max_tokens=8))


FAULTS = {
    "malformed": ErrorKind.MALFORMED,
    "not_json": ErrorKind.MALFORMED,
    "http_422": ErrorKind.HTTP_4XX,
    "timeout": ErrorKind.TIMEOUT,
    "dropped": ErrorKind.CONNECTION,
    "validation_event": ErrorKind.STREAM_ERROR,
}


@pytest.mark.parametrize(("fault", "kind"), FAULTS.items())
async def test_one_fault_among_ten_requests_fails_only_that_request(
    server: str, fault: str, kind: ErrorKind
) -> None:
    contents = ["fine"] * 10
    contents[3] = fault
    protocols = get_adapter("vllm").protocols()
    async with ServerClient(server, protocols=protocols, request_timeout_s=0.5, max_retries=0) as client:
        records = await client.run([_request(i, c) for i, c in enumerate(contents)])
    assert [r.request_id for r in records] == [str(i) for i in range(10)]
    failed = records[3]
    assert failed.error is not None
    assert failed.error.kind == kind
    assert failed.attempts == 1
    for record in records[:3] + records[4:]:
        assert record.ok, record.error
        assert record.text == "42\n"
        assert (record.prompt_tokens, record.completion_tokens, record.finish_reason) == (7, 2, "stop")


async def test_http_422_carries_the_status_and_the_server_message(server: str) -> None:
    async with ServerClient(server, protocols=get_adapter("tgi").protocols(), max_retries=3) as client:
        record = await client.send(_request(0, "http_422"))
    assert record.error is not None
    assert (record.error.kind, record.error.status) == (ErrorKind.HTTP_4XX, 422)
    assert record.error.message == "HTTP 422: Input validation error: too long"
    assert CALLS["http_422"] == 1  # a validation error is not retried


async def test_a_dropped_connection_is_retried_then_reported(server: str) -> None:
    protocols = get_adapter("tgi").protocols()
    async with ServerClient(server, protocols=protocols, max_retries=2, retry_wait_s=0.01) as client:
        record = await client.send(_request(0, "dropped"))
    assert record.error is not None
    assert record.error.kind == ErrorKind.CONNECTION
    assert record.attempts == 3
    assert CALLS["dropped"] == 3
    assert record.text == ""  # a failed attempt's partial answer is not kept


async def test_an_engine_without_the_kind_refuses_before_sending(server: str) -> None:
    async with ServerClient(server, protocols={}) as client:
        record = await client.send(_request(0, "fine"))
    assert record.error is not None
    assert record.error.kind == ErrorKind.UNSUPPORTED
    assert CALLS == {}
