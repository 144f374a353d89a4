"""TGI's native API: `/generate` and `/generate_stream` (with token details), and log-likelihood from
`/generate` prefill details (`decoder_input_details`, which TGI >= 3.0 returns only when launched with
`--enable-prefill-logprobs`; without it `prefill` comes back empty and the request fails saying so).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from evalclient.client.completion import Completion, ErrorKind, TokenLogprob
from evalclient.client.protocols.base import Clock, Protocol, as_object, field, parse_event
from evalclient.client.protocols.loglikelihood import PromptLoglikelihood, ScoredPrompt
from evalclient.client.protocols.sampling import tgi_parameters
from evalclient.client.requests import GenerateRequest, Request, RequestKind, Sampling
from evalclient.client.transport import RequestFailure, Transport, malformed

NO_PREFILL = (
    "TGI returned no prefill logprobs: launch it with --enable-prefill-logprobs "
    "(evalclient's TGI adapter does; an --endpoint server may not)"
)


class TGIGenerate(Protocol):
    """Generate requests on `/generate` (whole answer) or `/generate_stream` (token events)."""

    kind = RequestKind.GENERATE

    async def execute(self, http: Transport, request: Request, out: Completion, model: str) -> None:
        assert isinstance(request, GenerateRequest)
        if request.stream and request.prefill_details:
            raise RequestFailure(ErrorKind.UNSUPPORTED, "TGI gives prefill details only when not streaming")
        params = tgi_parameters(request.sampling)
        params["details"] = True
        if request.prefill_details:
            params["decoder_input_details"] = True
        if request.top_n_tokens:
            params["top_n_tokens"] = request.top_n_tokens
        body = {"inputs": request.prompt, "parameters": params}
        out.started_at = time.monotonic()
        if request.stream:
            await _stream(http, body, out)
        else:
            answer, headers = await http.post_json("/generate", body)
            read_generate(answer, headers, out)
            out.ttft_ms = (time.monotonic() - out.started_at) * 1000
        out.finished_at = time.monotonic()
        out.latency_ms = (out.finished_at - out.started_at) * 1000


def read_generate(answer: Any, headers: Mapping[str, str], out: Completion) -> None:
    """A `/generate` body (or the compat route's one-item list) into the record."""
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    body = as_object(answer, "response")
    out.text = field(body, "generated_text", str, "") or ""
    details = as_object(body.get("details") or {}, "details")
    out.finish_reason = field(details, "finish_reason", str, "details.")
    out.completion_tokens = field(details, "generated_tokens", int, "details.")
    tokens = details.get("tokens")
    if tokens is not None:
        out.logprobs = token_list(tokens, details.get("top_tokens"), "details.tokens")
    prefill = details.get("prefill")
    if prefill:
        out.prefill = token_list(prefill, None, "details.prefill")
    prompt = headers.get("x-prompt-tokens")
    if prompt is not None and prompt.isdigit():
        out.prompt_tokens = int(prompt)
    elif out.prefill is not None:
        out.prompt_tokens = len(out.prefill)


async def _stream(http: Transport, body: dict[str, Any], out: Completion) -> None:
    clock = Clock(out)
    pieces: list[str] = []
    final: str | None = None
    out.logprobs = []
    async with http.post_sse("/generate_stream", body) as batches:
        async for now, datas in batches:
            for data in datas:
                event = parse_event(data)
                token = as_object(event.get("token"), "event.token")
                clock.tick(now)
                tops = event.get("top_tokens")
                out.logprobs.extend(token_list([token], [tops] if tops else None, "event.token"))
                if not token.get("special"):
                    pieces.append(str(token.get("text", "")))
                if isinstance(event.get("generated_text"), str):
                    final = event["generated_text"]
                details = event.get("details")
                if isinstance(details, dict):
                    out.finish_reason = field(details, "finish_reason", str, "details.")
                    out.completion_tokens = field(details, "generated_tokens", int, "details.")
                    out.prompt_tokens = field(details, "input_length", int, "details.")
    out.text = final if final is not None else "".join(pieces)


def token_list(tokens: Any, tops: Any, where: str) -> list[TokenLogprob]:
    """TGI Token / PrefillToken objects (id, text, logprob) with their top_tokens where given."""
    if not isinstance(tokens, list):
        raise malformed(f"{where} is not a list")
    result: list[TokenLogprob] = []
    for i, item in enumerate(tokens):
        token = as_object(item, f"{where}[{i}]")
        logprob = token.get("logprob")
        if logprob is not None and not isinstance(logprob, int | float):
            raise malformed(f"{where}[{i}].logprob is {type(logprob).__name__}")
        top = None
        if isinstance(tops, list) and i < len(tops) and isinstance(tops[i], list):
            top = tuple(
                (str(t.get("text")), float(t.get("logprob") or 0.0)) for t in tops[i] if isinstance(t, dict)
            )
        token_id = token.get("id")
        result.append(
            TokenLogprob(
                str(token.get("text", "")),
                None if logprob is None else float(logprob),
                token_id if isinstance(token_id, int) else None,
                top,
            )
        )
    return result


class TGILoglikelihood(PromptLoglikelihood):
    """Prompt logprobs from `/generate` prefill details; greedy checked by a greedy generation."""

    async def score_prompt(self, http: Transport, text: str, model: str) -> ScoredPrompt:
        params = {"max_new_tokens": 1, "do_sample": False, "details": True, "decoder_input_details": True}
        answer, _ = await http.post_json("/generate", {"inputs": text, "parameters": params})
        out = Completion("", RequestKind.GENERATE)
        read_generate(answer, {}, out)
        if not out.prefill:
            raise RequestFailure(ErrorKind.UNSUPPORTED, NO_PREFILL)
        return ScoredPrompt(out.prefill, out.completion_tokens)

    async def greedy_tokens(
        self, http: Transport, context: str, count: int, model: str
    ) -> list[TokenLogprob] | None:
        params = tgi_parameters(Sampling(max_tokens=count, seed=None))
        params["details"] = True
        answer, _ = await http.post_json("/generate", {"inputs": context, "parameters": params})
        out = Completion("", RequestKind.GENERATE)
        read_generate(answer, {}, out)
        return out.logprobs or []
