"""Log-likelihood from prompt logprobs, for every engine the same way: two prompts, one token boundary.

First the pair is split as lm-evaluation-harness splits it (`TemplateLM._encode_pair`, v0.4.12,
lm_eval/api/model.py): whitespace at the end of the context moves to the start of the continuation, so a
context that ends in a space (HellaSwag's after a removed `[step]`) scores that space with the continuation.
The server then scores the context alone and `context + continuation`; the context's token count splits the
second prompt, so the continuation's tokens are exactly the server's own (no tokenizer on the client). The
context must tokenize to a prefix of the whole prompt; when it still does not (a context ending inside a
word), the request fails as malformed rather than scoring the wrong tokens. A context shared by several
choices is scored once per client. The sum of the continuation's logprobs is the log-likelihood; `is_greedy`
comes from the top logprob of each position, or where an engine has none for prompts (TGI), from a greedy
generation.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections import OrderedDict
from dataclasses import dataclass

from evalclient.client.completion import Completion, ErrorKind, TokenLogprob
from evalclient.client.protocols.base import Protocol
from evalclient.client.requests import LoglikelihoodRequest, Request, RequestKind
from evalclient.client.transport import RequestFailure, Transport, malformed

CONTEXT_CACHE = 4096


@dataclass(frozen=True, slots=True)
class ScoredPrompt:
    """A prompt's tokens with their logprobs (the first one's is None), and tokens generated after it."""

    tokens: list[TokenLogprob]
    generated: int | None = None


class PromptLoglikelihood(Protocol):
    """The engine-neutral part; subclasses say how one prompt is scored (and greedy-decoded)."""

    kind = RequestKind.LOGLIKELIHOOD

    def __init__(self) -> None:
        self._contexts: OrderedDict[str, ScoredPrompt] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    @abstractmethod
    async def score_prompt(self, http: Transport, text: str, model: str) -> ScoredPrompt:
        """The prompt's tokens and logprobs as the server computed them."""

    async def greedy_tokens(
        self, http: Transport, context: str, count: int, model: str
    ) -> list[TokenLogprob] | None:
        """The greedy continuation of `context` (`count` tokens), for engines without prompt top logprobs."""
        return None

    async def execute(self, http: Transport, request: Request, out: Completion, model: str) -> None:
        assert isinstance(request, LoglikelihoodRequest)
        out.started_at = time.monotonic()
        context_text, continuation_text = encode_pair(request.context, request.continuation)
        context = await self._context(http, context_text, model)
        full = await self.score_prompt(http, context_text + continuation_text, model)
        continuation = split_continuation(context.tokens, full.tokens)
        out.prefill = continuation
        out.continuation_tokens = len(continuation)
        out.loglikelihood = sum(t.logprob for t in continuation if t.logprob is not None)
        out.prompt_tokens, out.completion_tokens = len(full.tokens), full.generated
        out.ttft_ms = (time.monotonic() - out.started_at) * 1000
        if request.greedy:
            out.is_greedy = await self._is_greedy(http, context_text, continuation, model)
        out.finished_at = time.monotonic()
        out.latency_ms = (out.finished_at - out.started_at) * 1000

    async def _context(self, http: Transport, context: str, model: str) -> ScoredPrompt:
        cached = self._contexts.get(context)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(context, asyncio.Lock())
        async with lock:
            cached = self._contexts.get(context)
            if cached is None:
                cached = await self.score_prompt(http, context, model)
                self._contexts[context] = cached
                while len(self._contexts) > CONTEXT_CACHE:
                    old, _ = self._contexts.popitem(last=False)
                    self._locks.pop(old, None)
        return cached

    async def _is_greedy(
        self, http: Transport, context: str, continuation: list[TokenLogprob], model: str
    ) -> bool:
        if all(t.top for t in continuation):
            return all(t.logprob is not None and t.logprob >= _best(t) - 1e-6 for t in continuation)
        generated = await self.greedy_tokens(http, context, len(continuation), model)
        if generated is None:
            raise RequestFailure(ErrorKind.UNSUPPORTED, "this engine cannot tell greedy continuations")
        return [_key(t) for t in generated] == [_key(t) for t in continuation]


def encode_pair(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's split of a (context, continuation) pair: the context's trailing whitespace (as str.rstrip
    sees it) moves to the front of the continuation; the whole prompt is unchanged."""
    kept = context.rstrip()
    return kept, context[len(kept) :] + continuation


def split_continuation(context: list[TokenLogprob], full: list[TokenLogprob]) -> list[TokenLogprob]:
    """The tokens of `full` after the context's; malformed unless the context's tokens are its prefix."""
    if not context:
        raise malformed("the server returned no prompt tokens (are prompt logprobs enabled?)")
    head = full[: len(context)]
    if len(full) <= len(context) or [_key(t) for t in head] != [_key(t) for t in context]:
        raise malformed(
            "the context tokenizes differently alone and before the continuation (it ends inside a word?); "
            "end the context on a word boundary and start the continuation with its separator (' answer')"
        )
    continuation = full[len(context) :]
    if any(t.logprob is None for t in continuation):
        raise malformed("the server gave a continuation token no logprob")
    return continuation


def _key(token: TokenLogprob) -> int | str:
    return token.id if token.id is not None else token.text


def _best(token: TokenLogprob) -> float:
    return max(lp for _, lp in token.top or ())
