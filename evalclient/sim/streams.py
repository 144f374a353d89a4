"""Server-sent event streams: TGI's /generate_stream events and OpenAI chat chunks.

Both open the stream (HTTP 200) before admission, as TGI does, so overload and validation errors arrive as
an error event: `data:{"error":...,"error_type":...}` on /generate_stream, and on chat
`data:{"error":{"message":...,"http_status_code":422}}` followed by `data:[DONE]`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .engine import Engine, GenError, Job
from .generation import OutToken
from .requests import ChatRequest, GenRequest
from .responses import (
    SSE_DONE,
    chat_chunk,
    chat_finish_reason,
    error_body,
    logprobs_json,
    openai_stream_error,
    sse_event,
    stream_details,
    stream_event,
    tool_call_deltas,
    tool_call_message,
    usage,
)

FAULT_MESSAGE = "Request failed during generation: simulated fault (--fault-stream-error-every)"


async def open_sse(request: web.Request) -> web.StreamResponse:
    """Start a text/event-stream response."""
    resp = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "x-compute-type": "gpu+optimized",
        },
    )
    await resp.prepare(request)
    return resp


def fault_point(engine: Engine, job: Job) -> int | None:
    """How many tokens to send before the injected error, or None when this stream is healthy."""
    if engine.faults.stream_error_due():
        return len(job.plan.tokens) // 2
    return None


class TgiStream:
    """One /generate_stream response."""

    def __init__(self, engine: Engine, gen: GenRequest) -> None:
        self.engine = engine
        self.gen = gen

    async def run(self, request: web.Request) -> web.StreamResponse:
        """Stream the tokens (or an error event) and close."""
        resp = await open_sse(request)
        try:
            job = self.engine.start(self.gen, stream=True)
        except GenError as exc:
            await resp.write(sse_event(exc.body()))
            return resp
        try:
            await self._tokens(resp, job)
        except ConnectionResetError:
            pass  # the client went away; close() drops the sequence
        finally:
            job.close()
        return resp

    async def _tokens(self, resp: web.StreamResponse, job: Job) -> None:
        fail_at = fault_point(self.engine, job)
        total = len(job.plan.tokens)
        index = 0
        async for token in job.seq.tokens():
            if index == fail_at:
                job.fail("generation")
                await resp.write(sse_event(error_body(FAULT_MESSAGE, "generation")))
                return
            index += 1
            final = self._final(job) if index == total else None
            await resp.write(sse_event(stream_event(index, token, final)))

    def _final(self, job: Job) -> dict[str, Any]:
        job.finish()
        details = None
        if self.gen.params.details:
            details = stream_details(job.plan, job.seed, job.valid.input_length)
        return {"generated_text": job.output_text(), "details": details}


class ChatStream:
    """One streamed /v1/chat/completions response."""

    def __init__(self, engine: Engine, chat: ChatRequest, model: str) -> None:
        self.engine = engine
        self.chat = chat
        self.model = model

    async def run(self, request: web.Request) -> web.StreamResponse:
        """Stream the chunks (or an error event), then `data:[DONE]`."""
        resp = await open_sse(request)
        try:
            job = self.engine.start(self.chat.gen, stream=True)
        except GenError as exc:
            await resp.write(sse_event(openai_stream_error(exc.message)))
            await resp.write(SSE_DONE)
            return resp
        try:
            await self._chunks(resp, job)
            await resp.write(SSE_DONE)
        except ConnectionResetError:
            pass
        finally:
            job.close()
        return resp

    async def _chunks(self, resp: web.StreamResponse, job: Job) -> None:
        fail_at = fault_point(self.engine, job)
        tool = tool_call_message(job.plan.text, self.engine.config.tgi) if self.chat.tools else None
        deltas = tool_call_deltas(tool) if tool is not None else []
        total = len(job.plan.tokens)
        index = sent = 0
        async for token in job.seq.tokens():
            if index == fail_at:
                job.fail("generation")
                await resp.write(sse_event(openai_stream_error(FAULT_MESSAGE)))
                return
            index += 1
            last = index == total
            if last:
                job.finish()
            if tool is None:
                await resp.write(sse_event(self._chunk(job, token, last)))
                continue
            due = len(deltas) if last else len(deltas) * index // total  # spread over the token arrivals
            for position in range(sent, due):
                final = last and position == due - 1
                await resp.write(sse_event(self._tool_chunk(job, deltas[position], final)))
            sent = max(sent, due)
        if self.chat.include_usage:
            counts = usage(job.valid.input_length, job.plan.generated_tokens)
            await resp.write(sse_event(self._base_chunk(None, None, None, counts)))

    def _chunk(self, job: Job, token: OutToken, last: bool) -> dict[str, Any]:
        delta = {"role": "assistant", "content": "" if token.special else token.text}
        finish = chat_finish_reason(job.plan.finish_reason) if last else None
        logprobs = logprobs_json([token], self.chat.gen.params.top_n_tokens) if self.chat.logprobs else None
        return self._base_chunk(delta, finish, logprobs, None)

    def _tool_chunk(self, job: Job, tool_delta: dict[str, Any], last: bool) -> dict[str, Any]:
        delta = {"role": "assistant", "content": None, "tool_calls": [tool_delta]}
        finish = chat_finish_reason(job.plan.finish_reason) if last else None
        return self._base_chunk(delta, finish, None, None)

    def _base_chunk(
        self,
        delta: dict[str, Any] | None,
        finish: str | None,
        logprobs: dict[str, Any] | None,
        counts: dict[str, int] | None,
    ) -> dict[str, Any]:
        return chat_chunk(
            model=self.model,
            fingerprint=self.engine.fingerprint,
            delta=delta,
            finish_reason=finish,
            logprobs=logprobs,
            usage_counts=counts,
        )
