"""OpenAI text completions (`/v1/completions`) as vLLM and SGLang serve them: raw-prompt generation, and
log-likelihood from echoed prompt logprobs (vLLM: `echo` + `logprobs`; the prompt's tokens are the first
`usage.prompt_tokens` entries; `text_offset` is not used, it drifts on special and partial-UTF-8 tokens).
"""

from __future__ import annotations

import time
from typing import Any

from evalclient.client.completion import Completion, ErrorKind, TokenLogprob
from evalclient.client.protocols.base import (
    DONE,
    Clock,
    Protocol,
    as_object,
    field,
    first_choice,
    parse_event,
    usage_counts,
)
from evalclient.client.protocols.loglikelihood import PromptLoglikelihood, ScoredPrompt
from evalclient.client.protocols.sampling import openai_sampling
from evalclient.client.requests import GenerateRequest, Request, RequestKind, Sampling
from evalclient.client.transport import RequestFailure, Transport, malformed

PATH = "/v1/completions"


class CompletionsGenerate(Protocol):
    """Generate requests; `top_n_tokens` maps to `logprobs`, `prefill_details` to `echo`."""

    kind = RequestKind.GENERATE

    def sampling_fields(self, sampling: Sampling) -> dict[str, Any]:
        """The request's sampling as this engine's completions API names it."""
        return openai_sampling(sampling, full=True)

    async def execute(self, http: Transport, request: Request, out: Completion, model: str) -> None:
        assert isinstance(request, GenerateRequest)
        if request.stream and request.prefill_details:
            raise RequestFailure(ErrorKind.UNSUPPORTED, "prompt logprobs are not given on a stream")
        body: dict[str, Any] = {"model": model, "prompt": request.prompt, "stream": request.stream}
        body.update(self.sampling_fields(request.sampling))
        if request.top_n_tokens is not None or request.prefill_details:
            body["logprobs"] = request.top_n_tokens or 1
        if request.prefill_details:
            body["echo"] = True
        out.started_at = time.monotonic()
        if request.stream:
            body["stream_options"] = {"include_usage": True}
            await _stream(http, body, out)
        else:
            answer, _ = await http.post_json(PATH, body)
            _read(as_object(answer, "response"), out, echoed=request.prefill_details, prompt=request.prompt)
            out.ttft_ms = (time.monotonic() - out.started_at) * 1000
        out.finished_at = time.monotonic()
        out.latency_ms = (out.finished_at - out.started_at) * 1000


async def _stream(http: Transport, body: dict[str, Any], out: Completion) -> None:
    clock = Clock(out)
    pieces: list[str] = []
    async with http.post_sse(PATH, body) as batches:
        async for now, datas in batches:
            for data in datas:
                if data.strip() == DONE:
                    break
                chunk = parse_event(data)
                usage_counts(chunk, out)
                choice = first_choice(chunk, "chunk.")
                if choice is None:
                    continue
                text = field(choice, "text", str, "chunk.choices[0].")
                if text:
                    pieces.append(text)
                    clock.tick(now)
                finish = field(choice, "finish_reason", str, "chunk.choices[0].")
                if finish:
                    out.finish_reason = finish
    out.text = "".join(pieces)


def _read(body: dict[str, Any], out: Completion, *, echoed: bool, prompt: str) -> None:
    usage_counts(body, out)
    choice = first_choice(body, "")
    if choice is None:
        raise malformed("completion has no choices")
    text = field(choice, "text", str, "choices[0].") or ""
    out.finish_reason = field(choice, "finish_reason", str, "choices[0].")
    tokens = echo_tokens(choice.get("logprobs"))
    if echoed and tokens is not None and out.prompt_tokens is not None:
        out.prefill, tokens = tokens[: out.prompt_tokens], tokens[out.prompt_tokens :]
    out.logprobs = tokens
    out.text = text[len(prompt) :] if echoed and text.startswith(prompt) else text


def echo_tokens(value: Any) -> list[TokenLogprob] | None:
    """OpenAI completions `logprobs` (parallel lists tokens / token_logprobs / top_logprobs) as tokens."""
    if not value:
        return None
    logprobs = as_object(value, "logprobs")
    tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
    tops = logprobs.get("top_logprobs") or []
    if not isinstance(tokens, list) or not isinstance(values, list) or len(tokens) != len(values):
        raise malformed("logprobs.tokens and logprobs.token_logprobs must be lists of one length")
    result = []
    for i, (token, logprob) in enumerate(zip(tokens, values, strict=True)):
        top = tops[i] if i < len(tops) else None
        pairs = tuple((str(k), float(v)) for k, v in top.items()) if isinstance(top, dict) else None
        result.append(TokenLogprob(str(token), None if logprob is None else float(logprob), None, pairs))
    return result


class CompletionsLoglikelihood(PromptLoglikelihood):
    """vLLM: the prompt echoed with its logprobs and the top one per position (for `is_greedy`)."""

    async def score_prompt(self, http: Transport, text: str, model: str) -> ScoredPrompt:
        body = {
            "model": model,
            "prompt": text,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }
        answer, _ = await http.post_json(PATH, body)
        out = Completion("", RequestKind.GENERATE)
        _read(as_object(answer, "response"), out, echoed=True, prompt=text)
        if out.prefill is None:
            raise malformed("the completion echoed no prompt logprobs (or reported no usage.prompt_tokens)")
        return ScoredPrompt(out.prefill, out.completion_tokens)
