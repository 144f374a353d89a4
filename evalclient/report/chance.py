"""The chance level of a task's `accuracy`: what answering at random scores.

Multiple-choice tasks by log-likelihood store every choice's log-likelihood per sample, so their chance level
is the mean of 1 / (number of choices) over the samples. Elsewhere (generative multiple choice, whose
verdicts do not list the choices) it is the task's constant below: 1/4 for MMLU, HellaSwag and ARC-Challenge
(four choices, a few ARC questions have three or five), 1/5 for TruthfulQA MC1 (2 to 13 choices; an
approximation), and 0 for open answers (gsm8k, code, BLEU), where guessing scores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalclient.report.tree import SampleRow

CHANCE: dict[str, float] = {
    "mmlu": 0.25,
    "hellaswag": 0.25,
    "arc_challenge": 0.25,
    "truthfulqa": 0.2,
}


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
    if dataset in CHANCE:
        return Chance(CHANCE[dataset], "the task's constant")
    return Chance(0.0, "open answers")
