"""What a request will generate, decided up front: the tokens, the text and the finish reason.

The answer text is cut into tokens; generation stops like TGI's stopping criteria, checked after every
token in this order: `max_new_tokens` reached (`length`), end-of-sequence token emitted (`eos_token`), the
output ends with a stop sequence (`stop_sequence`; the stop sequence stays in the text, as in TGI).
After the last answer token the model emits its special end-of-sequence token, which counts as a generated
token but is not part of the text. Sampling parameters do not change the answer: the simulator is
deterministic even with `do_sample`/`temperature` (only the reported `seed` differs).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from .tokenizer import token_id, token_logprob, tokenize

LENGTH = "length"
EOS_TOKEN = "eos_token"
STOP_SEQUENCE = "stop_sequence"


@dataclass(frozen=True)
class OutToken:
    """One generated token as TGI reports it."""

    id: int
    text: str
    logprob: float
    special: bool
    top: tuple[tuple[str, float], ...] = ()
    """Scripted alternatives (with their logprobs), most likely first; none: the token is its own top."""

    def as_json(self) -> dict[str, object]:
        """TGI's `Token` object."""
        return {"id": self.id, "text": self.text, "logprob": self.logprob, "special": self.special}


@dataclass(frozen=True)
class Plan:
    """The whole generation of one request."""

    tokens: tuple[OutToken, ...]
    text: str
    finish_reason: str

    @property
    def generated_tokens(self) -> int:
        """Generated tokens, the special end-of-sequence token included."""
        return len(self.tokens)


def plan_generation(
    answer: str,
    max_new_tokens: int,
    stop: Sequence[str],
    eos_text: str,
    first_top: tuple[tuple[str, float], ...] = (),
) -> Plan:
    """Emit `answer` token by token until a stopping criterion holds (see the module docstring);
    `first_top` are the first token's scripted alternatives."""
    plan = _plan(answer, max_new_tokens, stop, eos_text)
    if not first_top or not plan.tokens:
        return plan
    first = plan.tokens[0]
    logprob = dict(first_top).get(first.text, first.logprob)
    scripted = OutToken(first.id, first.text, logprob, first.special, first_top)
    return Plan((scripted, *plan.tokens[1:]), plan.text, plan.finish_reason)


def _plan(answer: str, max_new_tokens: int, stop: Sequence[str], eos_text: str) -> Plan:
    pieces = tokenize(answer)
    tokens: list[OutToken] = []
    text = ""
    while True:
        position = len(tokens)
        if position >= len(pieces):
            tokens.append(OutToken(token_id(eos_text), eos_text, token_logprob(eos_text, position), True))
            finish = LENGTH if len(tokens) >= max_new_tokens else EOS_TOKEN
            return Plan(tuple(tokens), text, finish)
        piece, stopped = _cut_at_stop(text, pieces[position], stop)
        tokens.append(OutToken(token_id(piece), piece, token_logprob(piece, position), False))
        text += piece
        if len(tokens) >= max_new_tokens:
            return Plan(tuple(tokens), text, LENGTH)
        if stopped:
            return Plan(tuple(tokens), text, STOP_SEQUENCE)


def _cut_at_stop(before: str, piece: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`piece`, cut just after the first stop sequence that the text reaches within it."""
    combined = before + piece
    best_end: int | None = None
    for seq in stop:
        if not seq:
            continue
        found = combined.find(seq, max(0, len(before) - len(seq) + 1))
        if found >= 0 and (best_end is None or found + len(seq) < best_end):
            best_end = found + len(seq)
    if best_end is None:
        return piece, False
    return combined[len(before) : best_end], True


EXPECTED_LOGPROB = -0.05
"""The logprob of a prompt token the simulated model expected: one that continues its scripted answer."""
SURPRISE_SHIFT = 2.5
"""Every other prompt token gets its stable logprob minus this, so expected tokens always rank first."""


def prefill_tokens(prompt_pieces: Sequence[str], answer: str = "") -> list[dict[str, object]]:
    """TGI's `prefill` list for `decoder_input_details`: the first token has no logprob (null).

    Prompt tokens at the end that spell the start of the model's scripted answer to this prompt are
    expected (logprob -0.05); every other token gets a lower, stable logprob. So a log-likelihood
    comparison of continuations ranks the scripted answer first, as greedy generation would emit it.
    """
    expected = len(prompt_pieces) - _answer_overlap(prompt_pieces, tokenize(answer))
    return [
        {"id": token_id(p), "text": p, "logprob": None if i == 0 else prefill_logprob(p, i, i >= expected)}
        for i, p in enumerate(prompt_pieces)
    ]


def prefill_logprob(piece: str, position: int, expected: bool) -> float:
    """The logprob of one prompt token (see `prefill_tokens`)."""
    return EXPECTED_LOGPROB if expected else round(token_logprob(piece, position) - SURPRISE_SHIFT, 4)


def _answer_overlap(prompt: Sequence[str], answer: Sequence[str]) -> int:
    """The length of the longest tail of `prompt` that equals a head of `answer`."""
    for size in range(min(len(prompt) - 1, len(answer)), 0, -1):
        if list(prompt[len(prompt) - size :]) == list(answer[:size]):
            return size
    return 0


def reported_seed(seed: int | None, sampling: bool, prompt: str) -> int | None:
    """The `seed` TGI reports: the request's seed (or a drawn one) when sampling, else null."""
    if not sampling:
        return None
    if seed is not None:
        return seed
    return zlib.crc32(prompt.encode("utf-8")) * 2654435761 % (1 << 63)
