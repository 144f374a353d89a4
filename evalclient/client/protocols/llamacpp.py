"""llama.cpp's llama-server (b11312): its OpenAI chat and completions APIs with llama.cpp's sampling names,
and the log-likelihood requests it cannot serve.

Sampling (tools/server/server-schema.cpp, make_llama_cmpl_schema): the repetition penalty is `repeat_penalty`
(an unknown `repetition_penalty` is ignored, so the GGUF's `general.sampling.penalty_repeat` default would
apply); `top_k` is clamped to [0, INT32_MAX] with 0 = disabled. Chat streams are OpenAI chunks
(server-task.cpp to_json_oaicompat_chat_stream: content, `reasoning_content` and `tool_calls` deltas with
`index`/`id`/`function`, a last chunk with empty `choices` and `usage` when `stream_options.include_usage`).
Prompt logprobs do not exist: `/v1/completions` throws "Only no echo is supported" for `echo`
(server-common.cpp oaicompat_completion_params_parse) and `n_probs` covers generated tokens only.
"""

from __future__ import annotations

from typing import Any

from evalclient.client.completion import Completion, ErrorKind
from evalclient.client.protocols.base import Protocol
from evalclient.client.protocols.openai_chat import OpenAIChat
from evalclient.client.protocols.openai_completions import CompletionsGenerate
from evalclient.client.protocols.sampling import openai_sampling
from evalclient.client.requests import GenerateRequest, Request, RequestKind, Sampling
from evalclient.client.transport import RequestFailure, Transport

NO_PROMPT_LOGPROBS = (
    'llama.cpp b11312 returns no prompt logprobs (/v1/completions refuses `echo`: "Only no echo is '
    'supported"; n_probs covers generated tokens only), so it cannot score log-likelihoods'
)


def llamacpp_sampling(sampling: Sampling) -> dict[str, Any]:
    """Every knob, as llama-server names it: `repeat_penalty`, and `top_k` 0 for none."""
    body = openai_sampling(sampling, full=True)
    body["repeat_penalty"] = body.pop("repetition_penalty")
    body["top_k"] = max(body["top_k"], 0)
    return body


class LlamaCppChat(OpenAIChat):
    """`/v1/chat/completions` with llama.cpp's sampling names."""

    def __init__(self) -> None:
        super().__init__(full_sampling=True)

    def sampling_fields(self, sampling: Sampling) -> dict[str, Any]:
        return llamacpp_sampling(sampling)


class LlamaCppGenerate(CompletionsGenerate):
    """`/v1/completions` with llama.cpp's sampling names; prompt details and alternatives are refused (its
    `logprobs` is `{"content": [...]}`, not the OpenAI completions lists)."""

    def sampling_fields(self, sampling: Sampling) -> dict[str, Any]:
        return llamacpp_sampling(sampling)

    async def execute(self, http: Transport, request: Request, out: Completion, model: str) -> None:
        assert isinstance(request, GenerateRequest)
        if request.prefill_details or request.top_n_tokens is not None:
            raise RequestFailure(ErrorKind.UNSUPPORTED, NO_PROMPT_LOGPROBS)
        await super().execute(http, request, out, model)


class NoLoglikelihood(Protocol):
    """Log-likelihood requests, refused with the reason before anything is sent."""

    kind = RequestKind.LOGLIKELIHOOD

    async def execute(self, http: Transport, request: Request, out: Completion, model: str) -> None:
        raise RequestFailure(ErrorKind.UNSUPPORTED, NO_PROMPT_LOGPROBS)
