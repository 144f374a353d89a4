"""Multiple-choice tasks in two modes, built the same way for ARC, HellaSwag, MMLU and TruthfulQA.

- **log-likelihood** (lm-evaluation-harness's `multiple_choice`): one `loglikelihood` request per choice, the
  continuation being `" " + choice` after the task's context; `acc` is right when the highest log-likelihood
  is the gold choice's, `acc_norm` when the highest log-likelihood divided by the choice's length in
  characters is (lm-eval's definitions, v0.4.12 lm_eval/api/task.py `process_results`: numpy's float
  division and argmax, so a choice that is empty after cleaning scores -inf, never an error, ties go to the
  first choice and a NaN wins as numpy's argmax has it).
- **generative**: the choices listed under labels in a chat prompt, the label read back from the answer by
  `choice_parser.parse_choice` (evalclient's own reading); `accuracy` counts unparseable answers as wrong.

A task provides `item_of(sample) -> MCItem` and its prompts; `mc_task` builds its TaskSpec in either mode.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from string import ascii_uppercase
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import LoglikelihoodRequest, RequestKind, Sampling
from evalclient.errors import UsageError
from evalclient.tasks.base import (
    GENERATIVE_MODE,
    LOGLIKELIHOOD_MODE,
    FewShot,
    HubSource,
    ModelHandle,
    Sample,
    SampleOutput,
    ScoreResult,
    Solver,
    TaskOptions,
    TaskSpec,
    off_loop,
)
from evalclient.tasks.choice_parser import parse_choice
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.report_spec import ReportSpec
from evalclient.tasks.text import answer_text, ask

GENERATIVE_SAMPLING = Sampling(max_tokens=32)
MODES = (LOGLIKELIHOOD_MODE, GENERATIVE_MODE)


@dataclass(frozen=True)
class MCItem:
    """One question: the log-likelihood context, the choices, the gold index, and the generative view."""

    context: str
    choices: tuple[str, ...]
    gold: int
    question: str
    labels: tuple[str, ...] = ()
    """Labels shown in the generative prompt; A, B, C... by default."""
    extra: Mapping[str, tuple[tuple[str, ...], tuple[int, ...]]] = field(default_factory=dict)
    """Further choice sets scored from the same log-likelihoods: name -> (choices, 1/0 labels); TruthfulQA."""

    @property
    def shown_labels(self) -> tuple[str, ...]:
        return self.labels or tuple(ascii_uppercase[: len(self.choices)])

    def continuations(self) -> list[str]:
        """Every distinct choice text to score, in first-seen order."""
        texts = list(self.choices)
        for choices, _ in self.extra.values():
            texts.extend(choices)
        return list(dict.fromkeys(texts))


ItemOf = Callable[[Sample], MCItem]
Metrics = Callable[[Sequence[Sample], Mapping[str, dict[str, Any]]], dict[str, Any]]


def argmax(values: Sequence[float]) -> int:
    """numpy's argmax: the first NaN if there is one, else the first index of the largest value."""
    best = 0
    for index, value in enumerate(values):
        if math.isnan(value):
            return index
        if value > values[best]:
            best = index
    return best


def per_character(loglikelihood: float, length: int) -> float:
    """`loglikelihood / length` as numpy divides floats: by zero it is -inf, +inf or NaN by the sign."""
    if length:
        return loglikelihood / length
    if loglikelihood == 0 or math.isnan(loglikelihood):
        return math.nan
    return math.copysign(math.inf, loglikelihood)


def loglikelihood_solver(item_of: ItemOf) -> Solver:
    """One log-likelihood request per distinct choice text, sent together."""

    async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
        item = item_of(sample)
        requests = [
            LoglikelihoodRequest(f"{sample.id}#{i}", item.context, " " + text)
            for i, text in enumerate(item.continuations())
        ]
        return list(await asyncio.gather(*(model.loglikelihood(r) for r in requests)))

    return solve


def loglikelihood_verdict(item: MCItem, output: SampleOutput | None) -> dict[str, Any]:
    """acc / acc_norm of one sample from its choices' log-likelihoods (all wrong when it has none)."""
    by_text = _loglikelihoods(item, output)
    if by_text is None:
        return {"gold": item.gold, "predicted": None, "correct": False, "correct_norm": False, "parsed": None}
    lls = [by_text[c] for c in item.choices]
    predicted = argmax(lls)
    predicted_norm = argmax([per_character(ll, len(c)) for ll, c in zip(lls, item.choices, strict=True)])
    verdict: dict[str, Any] = {
        "gold": item.gold,
        "predicted": predicted,
        "predicted_norm": predicted_norm,
        "loglikelihoods": lls,
        "correct": predicted == item.gold,
        "correct_norm": predicted_norm == item.gold,
        "parsed": None,
    }
    for name, (choices, labels) in item.extra.items():
        verdict[name] = probability_mass([by_text[c] for c in choices], labels)
    return verdict


def probability_mass(lls: Sequence[float], labels: Sequence[int]) -> float:
    """lm-eval's TruthfulQA MC2: exp(ll) normalised over the choices, summed over the true ones."""
    top = max(lls)
    probs = [math.exp(ll - top) for ll in lls]  # shifted: the same ratios, no underflow
    total = sum(probs)
    return sum(p for p, label in zip(probs, labels, strict=True) if label == 1) / total


def _loglikelihoods(item: MCItem, output: SampleOutput | None) -> dict[str, float] | None:
    if output is None or not output.ok:
        return None
    texts = item.continuations()
    values = [c.loglikelihood for c in output.completions if c.kind == RequestKind.LOGLIKELIHOOD]
    if len(values) != len(texts) or any(v is None for v in values):
        return None
    return {text: float(v) for text, v in zip(texts, values, strict=True) if v is not None}


def generative_solver(item_of: ItemOf, intro: str) -> Solver:
    """The choices under their labels in one chat turn; the label is asked for."""

    async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
        return await ask(model, sample.id, generative_prompt(item_of(sample), intro), GENERATIVE_SAMPLING)

    return solve


def generative_prompt(item: MCItem, intro: str) -> str:
    labels = item.shown_labels
    listing = "\n".join(f"{label}. {text}" for label, text in zip(labels, item.choices, strict=True))
    return (
        f"{intro}\n\n{item.question}\n{listing}\n\n"
        f"Reply with the label of the correct choice only ({format_labels(labels)})."
    )


def format_labels(labels: Sequence[str]) -> str:
    """ "A, B, C or D" for the prompt's instruction."""
    if len(labels) < 2:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} or {labels[-1]}"


def generative_verdict(item: MCItem, answer: str | None) -> dict[str, Any]:
    labels = item.shown_labels
    predicted = None if answer is None else parse_choice(answer, labels, item.choices)
    return {
        "predicted": predicted,
        "reference": labels[item.gold],
        "correct": predicted is not None and predicted == labels[item.gold],
        "parsed": None if answer is None else predicted is not None,
    }


def mean_of(verdicts: Mapping[str, Mapping[str, Any]], key: str) -> float | None:
    values = [float(v[key]) for v in verdicts.values()]
    return sum(values) / len(values) if values else None


def by_group(
    samples: Sequence[Sample],
    verdicts: Mapping[str, Mapping[str, Any]],
    group: Callable[[Sample], str],
    key: str,
) -> dict[str, float]:
    """The mean of `key` per group, groups sorted by name."""
    totals: dict[str, list[float]] = {}
    for sample in samples:
        totals.setdefault(group(sample), []).append(float(verdicts[sample.id][key]))
    return {name: sum(v) / len(v) for name, v in sorted(totals.items())}


def standard_metrics(norm: bool) -> Metrics:
    """acc (and acc_norm) in log-likelihood mode; `accuracy` is acc."""

    def metrics(samples: Sequence[Sample], verdicts: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        acc = mean_of(verdicts, "correct")
        out: dict[str, Any] = {"accuracy": acc, "acc": acc}
        if norm:
            out["acc_norm"] = mean_of(verdicts, "correct_norm")
        return out

    return metrics


@dataclass(frozen=True)
class MCDeclaration:
    """What makes one multiple-choice task: its source and schema, items, prompts and metrics."""

    name: str
    family: str
    source: HubSource
    required_fields: tuple[str, ...]
    item_of: ItemOf
    intro: str
    description: str
    report: ReportSpec
    id_field: str | None = None
    gen_item_of: ItemOf | None = None
    """The item as the generative prompt shows it, where it differs (MMLU: choice texts, not letters)."""
    ll_metrics: Metrics | None = None
    """Log-likelihood metrics; acc and acc_norm by default."""
    gen_metrics: Metrics | None = None
    fewshot: FewShot | None = None
    default_shots: int = 0
    stratify: str | None = None


def mc_task(decl: MCDeclaration, options: TaskOptions | None = None) -> TaskSpec:
    """The task in the mode and shot count `options` ask for (else log-likelihood, the default shots)."""
    options = options or TaskOptions()
    mode = options.mode or LOGLIKELIHOOD_MODE
    if mode not in MODES:
        raise UsageError(f"{decl.name} has no mode {mode!r}", f"modes: {', '.join(MODES)}")
    if options.config is not None:
        raise UsageError(f"{decl.name} has no dataset config {options.config!r}")
    shots = decl.default_shots if options.num_fewshot is None else options.num_fewshot
    if shots and decl.fewshot is None:
        raise UsageError(f"{decl.name} has no few-shot examples", f"use {decl.name}:0shot")
    common: dict[str, Any] = {
        "name": decl.name,
        "family": decl.family,
        "source": decl.source,
        "required_fields": decl.required_fields,
        "id_field": decl.id_field,
        "description": decl.description,
        "mode": mode,
        "modes": MODES,
        "num_fewshot": shots,
        "fewshot": decl.fewshot,
        "stratify": decl.stratify,
        "configure": lambda o: mc_task(decl, o),
        "report": decl.report,
    }
    if mode == LOGLIKELIHOOD_MODE:
        return TaskSpec(
            **common,
            solver=loglikelihood_solver(decl.item_of),
            scorer=off_loop(_scorer(decl, loglikelihood=True)),
            request_kinds=frozenset({RequestKind.LOGLIKELIHOOD}),
        )
    return TaskSpec(
        **common,
        solver=generative_solver(decl.gen_item_of or decl.item_of, decl.intro),
        scorer=off_loop(_scorer(decl, loglikelihood=False)),
        request_kinds=frozenset({RequestKind.CHAT}),
        sampling=GENERATIVE_SAMPLING,
    )


def _scorer(decl: MCDeclaration, *, loglikelihood: bool) -> Callable[..., ScoreResult]:
    def score_now(samples: Sequence[Sample], outputs: Mapping[str, SampleOutput]) -> ScoreResult:
        verdicts: dict[str, dict[str, Any]] = {}
        item_of = decl.item_of if loglikelihood else (decl.gen_item_of or decl.item_of)
        for sample in samples:
            item = item_of(sample)
            output = outputs.get(sample.id)
            if loglikelihood:
                verdicts[sample.id] = loglikelihood_verdict(item, output)
            else:
                verdicts[sample.id] = generative_verdict(item, answer_text(output))
        if loglikelihood:
            metrics = (decl.ll_metrics or standard_metrics(norm=True))(samples, verdicts)
        else:
            metrics = (decl.gen_metrics or _accuracy_only)(samples, verdicts)
        mode = LOGLIKELIHOOD_MODE if loglikelihood else GENERATIVE_MODE
        quality = answer_quality(samples, outputs, verdicts)
        return ScoreResult({**metrics, "mode": mode, **quality}, verdicts)

    return score_now


def _accuracy_only(samples: Sequence[Sample], verdicts: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return {"accuracy": mean_of(verdicts, "correct")}
