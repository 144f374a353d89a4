"""The chance level of a task's `accuracy`: what answering at random scores.

Multiple-choice tasks by log-likelihood store every choice's log-likelihood per sample, so their chance level
is the mean of 1 / (number of choices) over the samples. Elsewhere (generative multiple choice, whose
verdicts do not list the choices) it is the constant the task declares (`ReportSpec.chance`), and 0 for open
answers (gsm8k, code, BLEU, a dataset the registry does not know), where guessing scores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalclient.report.headline import declared
from evalclient.report.tree import SampleRow


@dataclass(frozen=True)
class Chance:
    level: float
    source: str


def chance_level(dataset: str, samples: Sequence[SampleRow] | None) -> Chance:
    """The chance level of `dataset`'s accuracy, derived from the samples' choices where they list them."""
    choices = [
        len(s.verdict["loglikelihoods"])
        for s in samples or ()
        if isinstance(s.verdict.get("loglikelihoods"), list) and s.verdict["loglikelihoods"]
    ]
    if choices:
        level = sum(1 / n for n in choices) / len(choices)
        return Chance(level, f"1/choices over {len(choices)} samples")
    spec = declared(dataset)
    if spec is not None and spec.chance is not None:
        return Chance(spec.chance, "the task's constant")
    return Chance(0.0, "open answers")
