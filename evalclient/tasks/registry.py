"""The twelve datasets of the sweep, each declared once (`TaskSpec`) and registered here, in sweep order.

Hub paths follow the reference harnesses (lm-evaluation-harness, inspect_evals). A revision is a commit
SHA only where a reference harness or a published lock file pins it; elsewhere it is "main".
Variants (another prompt style or subset of a sweep dataset: humaneval_completion, mbpp_sanitized,
mbpp_completion) are run and scored by name but are not part of the sweep. Sample caps live in
presets/sweep.yaml alone.
"""

from __future__ import annotations

from evalclient.errors import UsageError
from evalclient.tasks.alpaca_eval import ALPACA_EVAL, ALPACA_EVAL_V1
from evalclient.tasks.arc import ARC_CHALLENGE
from evalclient.tasks.base import TaskSpec
from evalclient.tasks.codet5 import CODET5
from evalclient.tasks.function_calling.bfcl import BFCL
from evalclient.tasks.function_calling.toolllama import TOOLLLAMA
from evalclient.tasks.hellaswag import HELLASWAG
from evalclient.tasks.humaneval import HUMANEVAL, HUMANEVAL_COMPLETION
from evalclient.tasks.math import GSM8K
from evalclient.tasks.mbpp import MBPP, MBPP_COMPLETION, MBPP_SANITIZED
from evalclient.tasks.mmlu import MMLU
from evalclient.tasks.mt_bench import MT_BENCH
from evalclient.tasks.truthfulqa import TRUTHFULQA

# Commit pins, with where they were seen:
#  openai_humaneval 7dce6050…  inspect_evals v0.23.0 humaneval.py; Aleph-Alpha eval-framework lock file
#  mbpp 4bb6404f…              Aleph-Alpha eval-framework hf-dataset-revisions.json
#  hellaswag 218ec52e…         inspect_evals v0.23.0 hellaswag.py; Aleph-Alpha lock file
#  mt_bench_prompts e3a795c5…  pinned by two independent evaluation projects
#  cais/mmlu c30699e8…         inspect_evals 0.20.0 mmlu.py; Aleph-Alpha lock file
#  truthful_qa 741b8276…       inspect_evals v0.23.0 truthfulqa.py
#  BFCL 61fc0608…              a BFCL adapter pinned with bfcl-eval 2025.12.17 (holds BFCL v3's files)
#  gsm8k / arc: see math.py and multiple_choice.py (inspect_evals pins); humaneval / mbpp: their modules;
#  mt_bench / alpaca_eval: mt_bench.py and alpaca_eval.py; bfcl / toolllama: function_calling/.

SWEEP_ORDER: tuple[str, ...] = (
    "humaneval",
    "mbpp",
    "codet5",
    "gsm8k",
    "arc_challenge",
    "hellaswag",
    "mt_bench",
    "alpaca_eval",
    "mmlu",
    "truthfulqa",
    "bfcl",
    "toolllama",
)

_IMPLEMENTED = (
    HUMANEVAL,
    MBPP,
    CODET5,
    GSM8K,
    ARC_CHALLENGE,
    HELLASWAG,
    MT_BENCH,
    ALPACA_EVAL,
    MMLU,
    TRUTHFULQA,
    BFCL,
    TOOLLLAMA,
)
_TASKS: dict[str, TaskSpec] = {t.name: t for t in _IMPLEMENTED}
assert set(_TASKS) == set(SWEEP_ORDER), "every dataset of the sweep is declared once"

VARIANTS: dict[str, TaskSpec] = {
    t.name: t for t in (HUMANEVAL_COMPLETION, MBPP_SANITIZED, MBPP_COMPLETION, ALPACA_EVAL_V1)
}
"""Other forms of a sweep dataset (another prompt style or subset), run by name; not in the default sweep."""


def task_names() -> list[str]:
    """All dataset names, in sweep order."""
    return list(SWEEP_ORDER)


def all_tasks() -> list[TaskSpec]:
    """All tasks, in sweep order."""
    return [_TASKS[name] for name in SWEEP_ORDER]


def variant_names() -> list[str]:
    """Names of the variants (humaneval_completion, mbpp_sanitized, mbpp_completion, alpaca_eval_v1)."""
    return list(VARIANTS)


def get_task(name: str) -> TaskSpec:
    """The task (or variant) called `name`; UsageError listing the valid names for an unknown one."""
    key = name.strip().lower()
    task = _TASKS.get(key) or VARIANTS.get(key)
    if task is None:
        raise UsageError(
            f"unknown dataset {name!r}; valid datasets: {', '.join(SWEEP_ORDER)} "
            f"(variants: {', '.join(VARIANTS)})"
        )
    return task
