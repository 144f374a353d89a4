"""What the load probe sends: prompts of a given length or a dataset's own, with a fixed output length.

Prompt lengths are asked in words (the client has no tokenizer); the server's own token counts are what the
report shows. A fixed output length needs the engine to ignore the end-of-sequence token: vLLM and SGLang take
`ignore_eos` (and `min_tokens`); TGI's HTTP API has no such switch, so there outputs end where the model stops
and the report says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from evalclient.client.completion import Completion
from evalclient.client.requests import (
    ChatRequest,
    GenerateRequest,
    LoglikelihoodRequest,
    RequestKind,
    Sampling,
)
from evalclient.tasks.base import Sample, TaskSpec
from evalclient.tasks.manager import DatasetManager
from evalclient.tasks.registry import get_task

FILLER = (
    "the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "and", "keeps", "running",
    "through", "the", "quiet", "green", "field",
)  # fmt: skip


@dataclass(frozen=True)
class Workload:
    """The messages to send in turn, the output length, and whether the engine will honour it exactly."""

    messages: tuple[tuple[dict[str, str], ...], ...]
    output_tokens: int
    ignore_eos: bool
    description: str

    def requests(self, prefix: str) -> Iterator[ChatRequest]:
        """An endless stream of requests, cycling through the messages."""
        extra = {"ignore_eos": True, "min_tokens": self.output_tokens} if self.ignore_eos else {}
        sampling = Sampling(max_tokens=self.output_tokens)
        index = 0
        while True:
            messages = self.messages[index % len(self.messages)]
            yield ChatRequest(f"{prefix}{index}", messages, sampling, extra_body=dict(extra))
            index += 1


def fixed_workload(prompt_words: int, output_tokens: int, ignore_eos: bool) -> Workload:
    """Prompts of `prompt_words` words, each a little different so no prefix cache serves them all."""
    prompts = []
    for variant in range(64):
        words = [FILLER[(variant + i) % len(FILLER)] for i in range(prompt_words)]
        prompts.append(({"role": "user", "content": f"{variant}: " + " ".join(words)},))
    what = f"{prompt_words}-word prompts, {output_tokens} output tokens"
    return Workload(tuple(prompts), output_tokens, ignore_eos, what)


async def dataset_workload(
    name: str, count: int, output_tokens: int, ignore_eos: bool, data_dir: Path | None
) -> Workload:
    """The chat prompts a task's solver builds for `count` of its samples."""
    task = get_task(name)
    samples = DatasetManager(data_dir).get_evaluation_samples(task, count)
    capture = _Capture()
    messages = [await _first_chat(task, sample, capture) for sample in samples]
    what = f"{len(messages)} {name} prompts, {output_tokens} output tokens"
    return Workload(tuple(messages), output_tokens, ignore_eos, what)


async def _first_chat(task: TaskSpec, sample: Sample, capture: _Capture) -> tuple[dict[str, str], ...]:
    if task.solver is None or RequestKind.CHAT not in task.request_kinds:
        from evalclient.errors import UsageError

        raise UsageError(f"{task.name} sends no chat requests to draw prompts from", "use gsm8k, mbpp, …")
    capture.seen.clear()
    await task.solver(sample, capture)
    return tuple(capture.seen[0].messages)


class _Capture:
    """A ModelHandle that keeps the chat requests a solver builds and answers nothing."""

    def __init__(self) -> None:
        self.seen: list[ChatRequest] = []

    async def chat(self, request: ChatRequest) -> Completion:
        self.seen.append(replace(request))
        return Completion(request.id, RequestKind.CHAT)

    async def generate(self, request: GenerateRequest) -> Completion:
        return Completion(request.id, RequestKind.GENERATE)

    async def loglikelihood(self, request: LoglikelihoodRequest) -> Completion:
        return Completion(request.id, RequestKind.LOGLIKELIHOOD)
