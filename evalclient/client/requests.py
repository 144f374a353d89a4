"""The request kinds a task can send, each engine-neutral; an engine's protocol turns them into HTTP.

- `ChatRequest`: OpenAI chat completions (multi-turn messages, tools, streamed or not);
- `GenerateRequest`: raw-prompt generation (TGI `/generate`, or an OpenAI completions endpoint), with token
  details on request;
- `LoglikelihoodRequest`: the log-probability of `continuation` given `context`, read from the server's
  prefill (prompt) logprobs, as lm-evaluation-harness's `loglikelihood` requests.

Every request carries its `Sampling` in full: servers fill missing parameters with their own defaults (TGI's
chat stops at 100 tokens without `max_tokens`; vLLM applies the model's generation_config.json), so nothing
is left for them to fill.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class RequestKind(StrEnum):
    """What a request asks of the server; an engine adapter declares the kinds it can serve."""

    CHAT = "chat"
    GENERATE = "generate"
    LOGLIKELIHOOD = "loglikelihood"


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling parameters, stated in full. `top_k=None` means no top-k cut; `temperature=0` is greedy."""

    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int | None = None
    repetition_penalty: float = 1.0
    seed: int | None = 1234
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be 0 or more, not {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {self.top_p}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def as_dict(self) -> dict[str, Any]:
        """The parameters as recorded with each combination."""
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data


Message = dict[str, Any]
"""An OpenAI chat message: role, content, and for assistant turns maybe tool_calls."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat completion: messages (any number of turns), sampling, and optionally tools."""

    id: str
    messages: tuple[Message, ...]
    sampling: Sampling
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    stream: bool = True
    logprobs: int | None = None
    """Top logprobs per generated token (0 = only the chosen token's); None asks for none."""
    extra_body: dict[str, Any] = field(default_factory=dict)
    """Engine-specific fields merged into the body (e.g. chat_template_kwargs)."""

    kind = RequestKind.CHAT


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """A raw-prompt generation; `top_n_tokens` asks for that many alternatives per generated token."""

    id: str
    prompt: str
    sampling: Sampling
    stream: bool = False
    top_n_tokens: int | None = None
    prefill_details: bool = False
    """Also return the prompt's tokens with their logprobs (TGI `decoder_input_details`)."""

    kind = RequestKind.GENERATE


@dataclass(frozen=True, slots=True)
class LoglikelihoodRequest:
    """log P(continuation | context), summed over the continuation's tokens as the server tokenizes them.

    The continuation should carry its own leading space (" Paris"), as lm-evaluation-harness's do.
    `greedy` also asks whether the continuation is what greedy decoding would produce.
    """

    id: str
    context: str
    continuation: str
    greedy: bool = False

    kind = RequestKind.LOGLIKELIHOOD

    def __post_init__(self) -> None:
        if not self.context:
            raise ValueError("a log-likelihood request needs a non-empty context")
        if not self.continuation:
            raise ValueError("a log-likelihood request needs a non-empty continuation")


Request = ChatRequest | GenerateRequest | LoglikelihoodRequest
