"""Sampling parameters as each engine must receive them to mean exactly what `Sampling` says.

OpenAI-style engines (vLLM, SGLang) get every knob, including the neutral values, because they otherwise apply
the model's generation_config.json (Qwen's sets top_k 20 and repetition_penalty 1.05, which change even greedy
output). TGI applies no such defaults, and its validation refuses the neutral values themselves (`top_p` must
be < 1.0, `temperature` > 0 on /generate); there a neutral knob is left out, which TGI reads as "off".
"""

from __future__ import annotations

from typing import Any

from evalclient.client.completion import ErrorKind
from evalclient.client.requests import Sampling
from evalclient.client.transport import RequestFailure


def openai_sampling(sampling: Sampling, *, full: bool) -> dict[str, Any]:
    """Chat/completions fields; `full` adds top_k, repetition_penalty and min_p (vLLM, SGLang)."""
    body: dict[str, Any] = {"max_tokens": sampling.max_tokens, "temperature": sampling.temperature}
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if sampling.stop:
        body["stop"] = list(sampling.stop)
    if full:
        body["top_p"] = sampling.top_p
        body["top_k"] = sampling.top_k if sampling.top_k is not None else -1
        body["min_p"] = 0.0
        body["repetition_penalty"] = sampling.repetition_penalty
        return body
    if sampling.top_p < 1.0:
        body["top_p"] = sampling.top_p
    if sampling.top_k is not None or sampling.repetition_penalty != 1.0:
        raise RequestFailure(
            ErrorKind.UNSUPPORTED, "TGI's chat API has no top_k or repetition_penalty; use /generate"
        )
    return body


def tgi_parameters(sampling: Sampling) -> dict[str, Any]:
    """TGI GenerateParameters: greedy is `do_sample: false` with no temperature."""
    params: dict[str, Any] = {"max_new_tokens": sampling.max_tokens, "do_sample": not sampling.greedy}
    if not sampling.greedy:
        params["temperature"] = sampling.temperature
    if sampling.top_p < 1.0:
        params["top_p"] = sampling.top_p
    if sampling.top_k is not None:
        params["top_k"] = sampling.top_k
    if sampling.repetition_penalty != 1.0:
        params["repetition_penalty"] = sampling.repetition_penalty
    if sampling.seed is not None:
        params["seed"] = sampling.seed
    if sampling.stop:
        params["stop"] = list(sampling.stop)
    return params
