"""Multiple-choice tasks answered by label (generative): ARC-Challenge.

The prompt lists the choices under the dataset's own labels (A–E, or 1–5 for some ARC rows) and asks for
the label only; `choice_parser.parse_choice` (evalclient's own reading of free text) reads the label back.
`accuracy` is correct answers over all samples (failed and unparseable answers count as wrong); it is not
lm-eval's `acc`, which scores choices by log-likelihood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind, Sampling
from evalclient.errors import DatasetError
from evalclient.tasks.base import (
    HubSource,
    ModelHandle,
    Sample,
    SampleOutput,
    ScoreResult,
    TaskSpec,
    off_loop,
)
from evalclient.tasks.choice_parser import parse_choice
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.text import answer_text, ask

SAMPLING = Sampling(max_tokens=32)

PROMPT_TEMPLATE = (
    "Answer the following multiple-choice science question.\n\n"
    "Question: {question}\n{choices}\n\n"
    "Reply with the label of the correct choice only ({labels})."
)


def labelled_choices(row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The (labels, texts) of an ARC-schema row's `choices`; DatasetError when they are malformed."""
    choices = row.get("choices")
    labels = choices.get("label") if isinstance(choices, Mapping) else None
    texts = choices.get("text") if isinstance(choices, Mapping) else None
    if not _is_list(labels) or not _is_list(texts) or len(labels) != len(texts):
        raise DatasetError(
            f"row {row.get('id', '?')}: `choices` must be {{'text': [...], 'label': [...]}} of equal length",
            "give rows in the hub schema (allenai/ai2_arc)",
        )
    return [str(label) for label in labels], [str(text) for text in texts]


def _is_list(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def format_labels(labels: Sequence[str]) -> str:
    """ "A, B, C or D" for the prompt's instruction."""
    if len(labels) < 2:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} or {labels[-1]}"


async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
    labels, texts = labelled_choices(sample.row)
    listing = "\n".join(f"{label}. {text}" for label, text in zip(labels, texts, strict=True))
    prompt = PROMPT_TEMPLATE.format(
        question=str(sample.row["question"]).strip(), choices=listing, labels=format_labels(labels)
    )
    return await ask(model, sample.id, prompt, SAMPLING)


def score_now(samples: Sequence[Sample], outputs: Mapping[str, SampleOutput]) -> ScoreResult:
    """Accuracy and answer quality (synchronous; run off the event loop)."""
    verdicts = {s.id: verdict(s, answer_text(outputs.get(s.id))) for s in samples}
    total = len(samples)
    accuracy = sum(v["correct"] for v in verdicts.values()) / total if total else None
    metrics = {"accuracy": accuracy, **answer_quality(samples, outputs, verdicts)}
    return ScoreResult(metrics=metrics, per_sample=verdicts)


def verdict(sample: Sample, answer: str | None) -> dict[str, Any]:
    labels, texts = labelled_choices(sample.row)
    reference = str(sample.row["answerKey"]).strip()
    predicted = None if answer is None else parse_choice(answer, labels, texts)
    return {
        "predicted": predicted,
        "reference": reference,
        "correct": predicted is not None and predicted == reference,
        "parsed": None if answer is None else predicted is not None,
    }


ARC_CHALLENGE = TaskSpec(
    name="arc_challenge",
    family="reasoning",
    source=HubSource("allenai/ai2_arc", "ARC-Challenge", "test", "210d026faf9955653af8916fad021475a3f00453"),
    required_fields=("id", "question", "choices", "answerKey"),
    id_field="id",
    solver=solve,
    scorer=off_loop(score_now),
    request_kinds=frozenset({RequestKind.CHAT}),
    sampling=SAMPLING,
    description="grade-school science questions, Challenge set (1,172 in test), answered by label",
)
