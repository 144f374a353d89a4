"""What the reports derive from each task's declaration (headline, scale, chance level, family) equals what
report/headline.py, report/chance.py and report/families.py gave from their own name-keyed tables before the
declarations moved into the tasks. The expectations are literals copied from those tables."""

from __future__ import annotations

from itertools import combinations

import pytest

from evalclient.report.chance import Chance, chance_level
from evalclient.report.families import family_of
from evalclient.report.headline import group_weights, headline_of
from evalclient.report.tree import SampleRow
from evalclient.tasks import get_task, task_names, variant_names
from evalclient.tasks.base import TaskOptions
from evalclient.tasks.humaneval import humaneval_task
from evalclient.tasks.mbpp import mbpp_task
from evalclient.tasks.report_spec import ACCURACY, Headline, ReportSpec

# metric → (verdict field, 0/1 verdict, scale, group field), as the old Headline constants had them
OLD_HEADLINE = {
    "accuracy": ("correct", True, 1.0, None),
    "acc_norm": ("correct_norm", True, 1.0, None),
    "acc": ("correct", True, 1.0, None),
    "mc2": ("mc2", False, 1.0, None),
    "bleu_score": ("bleu", False, 100.0, None),
    "pass@1": ("correct", True, 1.0, None),
    "mt_bench_score": ("mean_rating", False, 10.0, None),
    "win_rate": ("win", False, 100.0, None),
    "ast_accuracy": ("correct", True, 1.0, "category"),
    "exact_match": ("correct", True, 1.0, None),
}
# the old HEADLINES table, and its fallback for any other name
OLD_ORDER = {
    "gsm8k": ("accuracy",),
    "arc_challenge": ("acc_norm", "accuracy"),
    "hellaswag": ("acc_norm", "accuracy"),
    "mmlu": ("acc", "accuracy"),
    "truthfulqa": ("mc2", "accuracy"),
    "codet5": ("bleu_score",),
    "humaneval": ("pass@1",),
    "mbpp": ("pass@1",),
    "mt_bench": ("mt_bench_score",),
    "alpaca_eval": ("win_rate",),
    "alpaca_eval_v1": ("win_rate",),
    "bfcl": ("ast_accuracy", "accuracy"),
}
OLD_FALLBACK = ("pass@1", "acc_norm", "mc2", "accuracy", "exact_match")
# the old CHANCE table (every other name: 0, open answers)
OLD_CHANCE = {"mmlu": 0.25, "hellaswag": 0.25, "arc_challenge": 0.25, "truthfulqa": 0.2}
# the old REPORT_FAMILY translation applied to each name's registry family
OLD_FAMILY = {
    "humaneval": "code",
    "mbpp": "code",
    "codet5": "code",
    "gsm8k": "reasoning",
    "arc_challenge": "reasoning",
    "hellaswag": "reasoning",
    "mt_bench": "conversation",
    "alpaca_eval": "conversation",
    "mmlu": "knowledge",
    "truthfulqa": "knowledge",
    "bfcl": "function calling",
    "toolllama": "function calling",
    "humaneval_completion": "code",
    "mbpp_sanitized": "code",
    "mbpp_completion": "code",
    "alpaca_eval_v1": "conversation",
}
# headline metrics each task's scorer writes (both modes of the multiple-choice tasks)
WRITTEN = {
    "humaneval": ("pass@1",),
    "mbpp": ("pass@1",),
    "codet5": ("bleu_score",),
    "gsm8k": ("accuracy",),
    "arc_challenge": ("acc", "acc_norm", "accuracy"),
    "hellaswag": ("acc", "acc_norm", "accuracy"),
    "mt_bench": ("mt_bench_score",),
    "alpaca_eval": ("win_rate",),
    "mmlu": ("acc", "accuracy"),
    "truthfulqa": ("accuracy", "mc2"),
    "bfcl": ("accuracy", "ast_accuracy"),
    "toolllama": ("accuracy",),
    "humaneval_completion": ("pass@1",),
    "mbpp_sanitized": ("pass@1",),
    "mbpp_completion": ("pass@1",),
    "alpaca_eval_v1": ("win_rate",),
}
# names the registry does not resolve: n answers per problem, options in the name, unknown
UNREGISTERED = (
    "humaneval_n10",
    "humaneval_completion_n5",
    "mbpp_n10",
    "mbpp_sanitized_n4",
    "mbpp_completion_n3",
    "mmlu:0shot",
    "bfcl:prompt",
    "codet5:java",
    "arc_challenge:generative",
    "unknown",
)
REGISTERED = (*task_names(), *variant_names())


def _subsets(keys: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [c for r in range(len(keys) + 1) for c in combinations(keys, r)]


def _old_headline(name: str, present: tuple[str, ...]) -> tuple[object, ...] | None:
    metric = next((m for m in OLD_ORDER.get(name, OLD_FALLBACK) if m in present), None)
    return None if metric is None else (metric, *OLD_HEADLINE[metric])


def test_the_registry_holds_every_name_the_old_tables_covered() -> None:
    assert set(REGISTERED) == set(OLD_FAMILY) == set(WRITTEN)


@pytest.mark.parametrize("name", [*REGISTERED, *UNREGISTERED])
def test_headline_and_scale_as_the_old_table(name: str) -> None:
    for present in _subsets(WRITTEN.get(name, tuple(OLD_HEADLINE))):
        headline = headline_of(name, dict.fromkeys(present, 0.5))
        got = None if headline is None else (headline.metric, headline.verdict_key, headline.binary)
        got = got if headline is None else (*got, headline.scale, headline.group_key)
        assert got == _old_headline(name, present), (name, present)


@pytest.mark.parametrize("name", [*REGISTERED, *UNREGISTERED])
def test_chance_level_as_the_old_table(name: str) -> None:
    expected = Chance(OLD_CHANCE[name], "the task's constant") if name in OLD_CHANCE else None
    assert chance_level(name, None) == (expected or Chance(0.0, "open answers"))
    rows = [SampleRow(str(n), True, {"loglikelihoods": [-1.0] * n}, None, None, None) for n in (2, 4)]
    assert chance_level(name, rows) == Chance(0.375, "1/choices over 2 samples")


@pytest.mark.parametrize("name", [*REGISTERED, *UNREGISTERED])
def test_family_as_the_old_translation(name: str) -> None:
    assert family_of(name) == OLD_FAMILY.get(name, "other")


def test_bfcl_weights_its_categories_as_before() -> None:
    headline = headline_of("bfcl", {"ast_accuracy": 0.5})
    assert headline is not None
    some = group_weights(headline, ["simple_python", "simple_java", "multiple", "parallel", "irrelevance"])
    assert some == pytest.approx(
        {"simple_python": 1 / 6, "simple_java": 1 / 6, "multiple": 1 / 3, "parallel": 1 / 3}
    )
    every = ["simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple"]
    weights = group_weights(headline, [*every, "irrelevance"])
    assert weights == pytest.approx({c: 1 / 12 for c in every[:3]} | {c: 1 / 4 for c in every[3:]})


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("mmlu", TaskOptions("generative", 0)),
        ("arc_challenge", TaskOptions("generative")),
        ("truthfulqa", TaskOptions("loglikelihood")),
        ("bfcl", TaskOptions("prompt")),
        ("codet5", TaskOptions(config="java")),
    ],
)
def test_a_task_run_with_options_keeps_its_declaration(name: str, options: TaskOptions) -> None:
    task = get_task(name)
    assert task.with_options(options).report == task.report


def test_n_answers_per_problem_keep_the_declaration_though_the_registry_lacks_the_name() -> None:
    assert humaneval_task(samples_per_problem=10).report == get_task("humaneval").report
    assert mbpp_task("sanitized", samples_per_problem=5).report == get_task("mbpp_sanitized").report


def test_a_lower_is_better_headline_is_refused() -> None:
    lower = Headline("error", "wrong", binary=True, higher_is_better=False)
    with pytest.raises(ValueError, match="higher scores as better"):
        ReportSpec((ACCURACY, lower), "reasoning")
