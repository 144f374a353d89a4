"""The dataset registry: the twelve names in sweep order, sources, unknown names, every task runnable."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from evalclient.client import RequestKind
from evalclient.errors import UsageError
from evalclient.tasks import all_tasks, get_task, registry, task_names

SWEEP = [
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
]
FAMILIES = {"coding", "reasoning", "instruction_following", "qa", "function_calling", "summarization"}


def test_twelve_names_in_sweep_order() -> None:
    assert task_names() == SWEEP
    assert [task.name for task in all_tasks()] == SWEEP


def test_every_task_can_be_run_and_scored() -> None:
    """Each of the twelve and each variant has a solver and a scorer: no placeholder in the registry."""
    for task in [*all_tasks(), *(get_task(name) for name in registry.variant_names())]:
        assert task.solver is not None, task.name
        assert task.scorer is not None, task.name


def test_variants_are_found_by_name_but_are_not_in_the_sweep() -> None:
    assert registry.variant_names() == [
        "humaneval_completion",
        "mbpp_sanitized",
        "mbpp_completion",
        "alpaca_eval_v1",
    ]
    assert get_task("MBPP_sanitized").source.config == "sanitized"
    assert "mbpp_sanitized" not in task_names()


@pytest.mark.parametrize("name", SWEEP)
def test_every_task_is_fully_described(name: str) -> None:
    task = get_task(name)
    assert task.family in FAMILIES
    assert task.source.path
    assert task.source.split
    assert re.fullmatch(r"[0-9a-f]{40}|main", task.source.revision)
    assert task.required_fields
    assert task.request_kinds
    assert (task.sampling is not None) == (RequestKind.CHAT in task.request_kinds)


def test_sample_caps_come_from_the_sweep_file_alone(presets_dir: Path) -> None:
    from evalclient.config import load_config

    assert set(load_config(presets_dir).sweep.datasets) == set(SWEEP)
    assert not hasattr(registry, "SEED_CAPS")


@pytest.mark.parametrize(
    ("name", "id_field"),
    [("humaneval", "task_id"), ("mbpp", "task_id"), ("arc_challenge", "id"), ("bfcl", "id"), ("gsm8k", None)],
)
def test_id_fields_follow_the_design(name: str, id_field: str | None) -> None:
    assert get_task(name).id_field == id_field


def test_reference_sources() -> None:
    gsm8k, arc = get_task("gsm8k").source, get_task("arc_challenge").source
    assert (gsm8k.path, gsm8k.config, gsm8k.split) == ("openai/gsm8k", "main", "test")
    assert (arc.path, arc.config, arc.split) == ("allenai/ai2_arc", "ARC-Challenge", "test")


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError) as caught:
        get_task("gsm9k")
    message = str(caught.value)
    assert "gsm9k" in message
    assert all(name in message for name in SWEEP)


def test_names_are_case_insensitive() -> None:
    assert get_task(" GSM8K ").name == "gsm8k"


def test_importing_tasks_keeps_heavy_libraries_out() -> None:
    code = (
        "import sys, evalclient.tasks\n"
        "heavy = [m for m in ('datasets', 'pandas', 'pyarrow') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
