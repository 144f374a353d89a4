"""Request bodies of /generate, /generate_stream and /v1/chat/completions, parsed into one shape.

Shape errors (a missing or mistyped field) are answered like TGI's JSON extractor: HTTP 422 with a plain
text body. Parameter checks that TGI's validation makes are done by `validate.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .tokenizer import apply_chat_template, message_text


class BodyError(Exception):
    """The body cannot be read as the endpoint's request type (plain-text answer, like axum's)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass
class GenParams:
    """TGI's GenerateParameters, the ones the simulator looks at."""

    best_of: int | None = None
    temperature: float | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    typical_p: float | None = None
    do_sample: bool = False
    max_new_tokens: int | None = None
    return_full_text: bool = False
    stop: list[str] = field(default_factory=list)
    truncate: int | None = None
    details: bool = False
    decoder_input_details: bool = False
    seed: int | None = None
    top_n_tokens: int | None = None

    @property
    def sampling(self) -> bool:
        """Whether the request samples (TGI reports a seed only then)."""
        warped = (self.temperature is not None and self.temperature != 1.0) or bool(self.top_k)
        return self.do_sample or warped or (self.top_p is not None and self.top_p < 1.0)


@dataclass
class GenRequest:
    """A generation request: the model input, the text the rules see, and its parameters."""

    inputs: str
    match_text: str
    params: GenParams


@dataclass
class ChatRequest:
    """An OpenAI chat request turned into a generation request, plus the chat-only options."""

    gen: GenRequest
    model: str | None = None
    stream: bool = False
    include_usage: bool = False
    logprobs: bool = False
    tools: bool = False


_FLOATS = ("temperature", "repetition_penalty", "frequency_penalty", "top_p", "typical_p")
_INTS = ("best_of", "top_k", "max_new_tokens", "truncate", "seed", "top_n_tokens")
_BOOLS = ("do_sample", "return_full_text", "details", "decoder_input_details")


def read_json(raw: bytes) -> Any:
    """Decode a JSON body or raise BodyError 400, as axum does."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError(400, f"Failed to parse the request body as JSON: {exc}") from exc


def parse_generate(body: Any) -> tuple[GenRequest, bool]:
    """A /generate(_stream) body (the `stream` flag only matters on `/`); returns the request and it."""
    obj = _object(body, "")
    inputs = obj.get("inputs")
    if not isinstance(inputs, str):
        raise _shape("inputs", "a string", inputs)
    params_obj = _object(obj.get("parameters") or {}, "parameters.")
    params = GenParams()
    for name in _FLOATS:
        setattr(params, name, _opt_number(params_obj, name, float))
    for name in _INTS:
        setattr(params, name, _opt_number(params_obj, name, int))
    for name in _BOOLS:
        setattr(params, name, _bool(params_obj, name))
    params.stop = _stop_list(params_obj.get("stop"), "parameters.stop")
    if "parameters" not in obj:
        params.do_sample = True  # TGI's default_parameters() when the whole object is left out
    return GenRequest(inputs=inputs, match_text=inputs, params=params), _bool(obj, "stream")


def parse_chat(body: Any) -> ChatRequest:
    """A /v1/chat/completions body, mapped onto generation parameters as TGI maps it."""
    obj = _object(body, "")
    turns = _messages(obj.get("messages"))
    temperature = _opt_number(obj, "temperature", float)
    presence = _opt_number(obj, "presence_penalty", float)
    max_tokens = _opt_number(obj, "max_tokens", int)
    if max_tokens is None:
        max_tokens = _opt_number(obj, "max_completion_tokens", int)
    params = GenParams(
        temperature=None if temperature == 0 else temperature,
        do_sample=temperature != 0,
        repetition_penalty=None if presence is None else presence + 2.0,
        frequency_penalty=_opt_number(obj, "frequency_penalty", float),
        top_p=_opt_number(obj, "top_p", float),
        max_new_tokens=max_tokens,
        stop=_stop_list(obj.get("stop"), "stop"),
        details=True,
        seed=_opt_number(obj, "seed", int),
        top_n_tokens=_opt_number(obj, "top_logprobs", int),
    )
    gen = GenRequest(
        inputs=apply_chat_template(turns),
        match_text="\n".join(content for _, content in turns),
        params=params,
    )
    return ChatRequest(
        gen=gen,
        model=obj.get("model") if isinstance(obj.get("model"), str) else None,
        stream=_bool(obj, "stream"),
        include_usage=_include_usage(obj.get("stream_options")),
        logprobs=_bool(obj, "logprobs"),
        tools=bool(obj.get("tools")) and obj.get("tool_choice") != "none",
    )


def _messages(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise _shape("messages", "a sequence", value)
    turns: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        msg = _object(item, f"messages[{i}].")
        role = msg.get("role")
        if not isinstance(role, str):
            raise _shape(f"messages[{i}].role", "a string", role)
        try:
            content = message_text(msg.get("content"))
        except TypeError as exc:
            raise BodyError(422, f"Failed to deserialize the JSON body into the target type: {exc}") from exc
        if not content and msg.get("tool_calls"):
            content = json.dumps(msg["tool_calls"])
        turns.append((role, content))
    return turns


def _include_usage(value: Any) -> bool:
    if value is None:
        return False
    return _bool(_object(value, "stream_options."), "include_usage")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _shape(where.rstrip(".") or "body", "a map", value)
    return value


def _opt_number(obj: dict[str, Any], name: str, kind: type[int] | type[float]) -> Any:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _shape(name, "a number", value)
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise _shape(name, "an integer", value)
        return int(value)
    return float(value)


def _bool(obj: dict[str, Any], name: str) -> bool:
    value = obj.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _shape(name, "a boolean", value)
    return value


def _stop_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return list(value)
    raise _shape(where, "a string or a sequence of strings", value)


def _shape(name: str, expected: str, got: Any) -> BodyError:
    what = "missing field" if got is None else f"invalid type: {type(got).__name__}, expected {expected}"
    return BodyError(422, f"Failed to deserialize the JSON body into the target type: {name}: {what}")
