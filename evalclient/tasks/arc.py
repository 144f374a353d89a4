"""ARC-Challenge (allenai/ai2_arc, ARC-Challenge, test: 1,172 questions), in both multiple-choice modes.

Log-likelihood as lm-eval's `arc_challenge`: context `Question: {question}\\nAnswer:`, the choices' texts as
continuations, gold = the index of `answerKey` among the row's labels (A–E, or 1–5 for some rows); `acc`
and `acc_norm`. Generative: the choices under the row's own labels; `accuracy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource, Sample
from evalclient.tasks.multiple_choice import MCDeclaration, MCItem, mc_task
from evalclient.tasks.report_spec import ACC_NORM, ACCURACY, ReportSpec


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


def arc_item(sample: Sample) -> MCItem:
    labels, texts = labelled_choices(sample.row)
    key = str(sample.row["answerKey"]).strip()
    if key not in labels:
        raise DatasetError(f"row {sample.id}: answerKey {key!r} is not one of its labels {labels}")
    question = str(sample.row["question"]).strip()
    return MCItem(
        context=f"Question: {sample.row['question']}\nAnswer:",
        choices=tuple(texts),
        gold=labels.index(key),
        question=f"Question: {question}",
        labels=tuple(labels),
    )


ARC = MCDeclaration(
    name="arc_challenge",
    family="reasoning",
    source=HubSource(
        "allenai/ai2_arc",
        "ARC-Challenge",
        "test",
        "210d026faf9955653af8916fad021475a3f00453",
        files=(("test", ("ARC-Challenge/test-00000-of-00001.parquet",)),),
        rows=(("test", 1172),),
        cited="the tree at 210d026 (ARC-Challenge/, ARC-Easy/, README.md: no ai2_arc.py); 1,172 test "
        "questions",
    ),
    required_fields=("id", "question", "choices", "answerKey"),
    id_field="id",
    item_of=arc_item,
    intro="Answer the following multiple-choice science question.",
    description="grade-school science questions, Challenge set (1,172 in test); acc, acc_norm or by label",
    # generative chance: four choices (a few questions have three or five)
    report=ReportSpec((ACC_NORM, ACCURACY), "reasoning", chance=0.25),
)
ARC_CHALLENGE = mc_task(ARC)
