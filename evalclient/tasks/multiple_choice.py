"""Multiple-choice tasks answered by label (generative, as lm-eval's arc_challenge_chat): ARC-Challenge.

The prompt lists the choices under the dataset's own labels (A–E, or 1–5 for some ARC rows) and asks for
the label only; `choice_parser.parse_choice` reads the label back. `accuracy` and lm-eval's name `acc`
carry the same value: correct answers over all samples (missing and unparseable answers count as wrong).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from evalclient.client.types import GenerationRequest
from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource, Sample, ScoreResult, Task
from evalclient.tasks.choice_parser import parse_choice
from evalclient.tasks.text import response_text, user_message

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


class ARCChallengeTask(Task):
    """AI2 Reasoning Challenge, Challenge set (allenai/ai2_arc, ARC-Challenge, test: 1,172 questions)."""

    name = "arc_challenge"
    family = "reasoning"
    source = HubSource("allenai/ai2_arc", "ARC-Challenge", "test", "210d026faf9955653af8916fad021475a3f00453")
    id_field = "id"
    required_fields = ("id", "question", "choices", "answerKey")
    max_tokens = 32

    def build_request(self, sample: Sample) -> GenerationRequest:
        labels, texts = labelled_choices(sample.row)
        listing = "\n".join(f"{label}. {text}" for label, text in zip(labels, texts, strict=True))
        prompt = PROMPT_TEMPLATE.format(
            question=str(sample.row["question"]).strip(), choices=listing, labels=format_labels(labels)
        )
        return GenerationRequest(id=sample.id, messages=user_message(prompt), max_tokens=self.max_tokens)

    def score(self, samples: Sequence[Sample], responses: Mapping[str, str]) -> ScoreResult:
        per_sample = {
            sample.id: _score_one(sample, response_text(responses, sample.id)) for sample in samples
        }
        return ScoreResult(metrics=choice_metrics(list(per_sample.values())), per_sample=per_sample)


def choice_metrics(verdicts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """accuracy (= lm-eval's acc), sample count, failed parses and missing answers from the verdicts."""
    total = len(verdicts)
    accuracy = sum(1 for v in verdicts if v["correct"]) / total if total else None
    return {
        "accuracy": accuracy,
        "acc": accuracy,
        "num_samples": total,
        "num_failed_parse": sum(1 for v in verdicts if not v["missing"] and v["predicted"] is None),
        "num_missing": sum(1 for v in verdicts if v["missing"]),
    }


def _score_one(sample: Sample, response: str | None) -> dict[str, Any]:
    labels, texts = labelled_choices(sample.row)
    reference = str(sample.row["answerKey"]).strip()
    predicted = None if response is None else parse_choice(response, labels, texts)
    return {
        "predicted": predicted,
        "reference": reference,
        "correct": predicted is not None and predicted == reference,
        "missing": response is None,
    }
