"""HellaSwag (Rowan/hellaswag, validation: 10,042 rows), in both multiple-choice modes.

lm-eval's preprocessing exactly: the context is `activity_label + ": " + ctx_a + " " + ctx_b.capitalize()`
(Python's capitalize, which also lower-cases the rest), then for it and every ending: strip, " [title]" to
". ", bracketed text removed, double spaces made single. Log-likelihood: `acc` and `acc_norm` (the number
usually quoted); generative: the endings under A–D.
"""

from __future__ import annotations

import re

from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource, Sample
from evalclient.tasks.multiple_choice import MCDeclaration, MCItem, mc_task
from evalclient.tasks.report_spec import ACC_NORM, ACCURACY, ReportSpec

_BRACKETS = re.compile(r"\[.*?\]")


def preprocess(text: str) -> str:
    """lm-eval's HellaSwag clean-up of WikiHow artefacts."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = _BRACKETS.sub("", text)
    return text.replace("  ", " ")


def hellaswag_item(sample: Sample) -> MCItem:
    row = sample.row
    endings = row["endings"]
    if not isinstance(endings, list | tuple) or not endings:
        raise DatasetError(f"hellaswag row {sample.id}: `endings` must be a list of strings")
    context = row["ctx_a"] + " " + str(row["ctx_b"]).capitalize()
    query = preprocess(str(row["activity_label"]) + ": " + context)
    return MCItem(
        context=query,
        choices=tuple(preprocess(str(e)) for e in endings),
        gold=int(row["label"]),
        question=f"Text: {query}",
    )


HELLASWAG = mc_task(
    MCDeclaration(
        name="hellaswag",
        family="reasoning",
        source=HubSource(
            "Rowan/hellaswag",
            None,
            "validation",
            "218ec52e09a7e7462a5400043bb9a69a41d06b76",
            files=(("validation", ("data/validation-00000-of-00001.parquet",)),),
            rows=(("validation", 10042),),
            cited="the parquet conversion (PR #7) moved the splits to data/ and deleted hellaswag.py; at "
            "218ec52 "
            "data/validation-00000-of-00001.parquet holds the 10,042 validation rows",
        ),
        required_fields=("activity_label", "ctx_a", "ctx_b", "endings", "label"),
        item_of=hellaswag_item,
        intro="Which ending continues the text most plausibly?",
        description="commonsense sentence completion (10,042 in validation); acc and acc_norm, or by label",
        report=ReportSpec((ACC_NORM, ACCURACY), "reasoning", chance=0.25),
    )
)
