"""`make bench`: scoring stored answers at the size of a whole benchmark, off the event loop.

Builds the 14,042 rows of MMLU's test split in its schema (57 subjects, lm-eval's category grouping) with
four stored log-likelihoods each, as a run would have checkpointed them, and times the mmlu scorer (5-shot
prompts rebuilt from 5 dev rows per subject, acc, per-subject and per-category breakdowns). Target: < 2 s.
"""

from __future__ import annotations

import asyncio
import random
import time

from evalclient.client import Completion, RequestKind
from evalclient.tasks import get_task
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.mmlu import CATEGORY_OF

ROWS = 14_042


def _dataset() -> tuple[list[Sample], dict[str, SampleOutput]]:
    rng = random.Random(0)
    subjects = sorted(CATEGORY_OF)
    dev = {
        s: [
            {"question": f"dev {i} of {s}?", "subject": s, "choices": ["a", "b", "c", "d"], "answer": i % 4}
            for i in range(5)
        ]
        for s in subjects
    }
    samples, outputs = [], {}
    for index in range(ROWS):
        subject = subjects[index % len(subjects)]
        row = {
            "question": f"Question {index} about {subject}?",
            "subject": subject,
            "choices": [f"c{j}" for j in range(4)],
            "answer": index % 4,
        }
        sample = Sample(str(index), row, tuple(dev[subject]))
        samples.append(sample)
        lls = [rng.uniform(-8, -0.1) for _ in range(4)]
        completions = [
            Completion(f"{index}#{j}", RequestKind.LOGLIKELIHOOD, loglikelihood=v) for j, v in enumerate(lls)
        ]
        outputs[sample.id] = SampleOutput(sample.id, completions)
    return samples, outputs


def main() -> None:
    samples, outputs = _dataset()
    task = get_task("mmlu")
    assert task.scorer is not None
    started = time.perf_counter()
    result = asyncio.run(task.scorer(samples, outputs, ScoreContext()))
    seconds = time.perf_counter() - started
    acc, subjects = result.metrics["acc"], len(result.metrics["acc_by_subject"])
    rows = f"{len(samples):,} rows"
    print(f"mmlu scoring: {rows} in {seconds:.2f} s (target < 2 s); acc {acc:.4f}, {subjects} subjects")


if __name__ == "__main__":
    main()
