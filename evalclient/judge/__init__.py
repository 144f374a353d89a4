"""The judge phase: stored mt_bench and alpaca_eval answers graded by a judge model after generation.

sources.py   where the judge comes from (an endpoint, or a models.yaml model deployed for it)
session.py   one judge per call, started lazily; the per-combination `Judge` the scorers use
store.py     the judgments JSONL beside the predictions (resume: judged answers are not judged again),
             and each judge's scores (its last complete set and its last run) beside it
data.py      reference answers and instruction difficulty joined to the dataset rows
phase.py     the command's work: select records, score them with the judge, update the records
"""

from __future__ import annotations

from evalclient.judge.data import JudgeData
from evalclient.judge.phase import JUDGED_DATASETS, JudgeSummary, judge_results, judged_records
from evalclient.judge.sources import (
    API_KEY_ENV,
    JudgeSettings,
    deployment_judge,
    endpoint_judge,
    largest_model,
)

__all__ = [
    "API_KEY_ENV",
    "JUDGED_DATASETS",
    "JudgeData",
    "JudgeSettings",
    "JudgeSummary",
    "deployment_judge",
    "endpoint_judge",
    "judge_results",
    "judged_records",
    "largest_model",
]
