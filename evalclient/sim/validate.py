"""TGI's request validation, in its order and with its messages (router/src/validation.rs)."""

from __future__ import annotations

from dataclasses import dataclass

from .config import SimConfig
from .requests import GenParams, GenRequest
from .tokenizer import tokenize


class ValidationError(Exception):
    """A request TGI would refuse with HTTP 422 / error_type `validation`."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Input validation error: {detail}")
        self.detail = detail


@dataclass(frozen=True)
class Validated:
    """A request that passed validation: its prompt tokens and the effective max_new_tokens."""

    prompt_pieces: tuple[str, ...]
    max_new_tokens: int

    @property
    def input_length(self) -> int:
        """Prompt tokens as the server counts them."""
        return len(self.prompt_pieces)


def validate(req: GenRequest, config: SimConfig, *, stream: bool) -> Validated:
    """Check `req` against the limits; raise ValidationError with TGI's wording."""
    p = req.params
    if stream:
        _check_stream(p)
    _check_sampling(p, config)
    if not req.inputs:
        raise ValidationError("`inputs` cannot be empty")
    pieces = tokenize(req.inputs)
    if p.truncate is not None:
        if p.truncate <= 0 or p.truncate > config.max_input_tokens:
            raise ValidationError(
                f"`truncate` must be strictly positive and less than {config.max_input_tokens}. "
                f"Given: {p.truncate}"
            )
        pieces = pieces[-p.truncate :]
    return _check_lengths(tuple(pieces), p.max_new_tokens, config)


def _check_stream(p: GenParams) -> None:
    if (p.best_of or 1) != 1:
        raise ValidationError("`best_of` != 1 is not supported when streaming tokens")
    if p.decoder_input_details:
        raise ValidationError("`decoder_input_details` == true is not supported when streaming tokens")


def _check_sampling(p: GenParams, config: SimConfig) -> None:
    best_of = p.best_of if p.best_of is not None else 1
    if best_of < 1 or best_of > config.max_best_of:
        raise ValidationError(f"`best_of` must be > 0 and <= {config.max_best_of}. Given: {best_of}")
    sampling = p.do_sample or any(v is not None for v in (p.temperature, p.top_k, p.top_p, p.typical_p))
    if best_of > 1 and not sampling:
        raise ValidationError("you must use sampling when `best_of` is > 1")
    if p.temperature is not None and p.temperature <= 0:
        raise ValidationError("`temperature` must be strictly positive")
    if p.repetition_penalty is not None and p.repetition_penalty <= 0:
        raise ValidationError("`repetition_penalty` must be strictly positive")
    if p.frequency_penalty is not None and not -2.0 <= p.frequency_penalty <= 2.0:
        raise ValidationError("`frequency_penalty` must be >= -2.0 and <= 2.0")
    if p.top_p is not None and not 0.0 < p.top_p < 1.0:
        raise ValidationError("`top_p` must be > 0.0 and < 1.0")
    if p.typical_p is not None and not 0.0 < p.typical_p < 1.0:
        raise ValidationError("`typical_p` must be > 0.0 and < 1.0")
    if p.top_k is not None and p.top_k <= 0:
        raise ValidationError("`top_k` must be strictly positive")
    _check_counts(p, config, best_of)


def _check_counts(p: GenParams, config: SimConfig, best_of: int) -> None:
    if p.max_new_tokens is not None and p.max_new_tokens <= 0:
        raise ValidationError("`max_new_tokens` must be strictly positive")
    if len(p.stop) > config.max_stop_sequences:
        raise ValidationError(
            f"`stop` supports up to {config.max_stop_sequences} stop sequences. Given: {len(p.stop)}"
        )
    if p.seed is not None and best_of > 1:
        raise ValidationError("`seed` must not be set when `best_of` > 1")
    if p.top_n_tokens is not None and not 0 <= p.top_n_tokens <= config.max_top_n_tokens:
        raise ValidationError(
            f"`top_n_tokens` must be >= 0 and <= {config.max_top_n_tokens}. Given: {p.top_n_tokens}"
        )


def _check_lengths(pieces: tuple[str, ...], max_new_tokens: int | None, config: SimConfig) -> Validated:
    input_length = len(pieces)
    if max_new_tokens is None:
        max_new_tokens = max(config.max_total_tokens - input_length, 0)
    if input_length + max_new_tokens > config.max_total_tokens:
        raise ValidationError(
            f"`inputs` tokens + `max_new_tokens` must be <= {config.max_total_tokens}. "
            f"Given: {input_length} `inputs` tokens and {max_new_tokens} `max_new_tokens`"
        )
    if input_length > config.max_input_tokens:
        raise ValidationError(
            f"`inputs` must have less than {config.max_input_tokens} tokens. Given: {input_length}"
        )
    if max_new_tokens == 0:
        raise ValidationError("`max_new_tokens` must be strictly positive")
    return Validated(prompt_pieces=pieces, max_new_tokens=max_new_tokens)
