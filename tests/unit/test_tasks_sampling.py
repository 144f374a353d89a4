"""Deterministic sampling: same seed and n give the same ids, larger n keeps smaller n's ids, caps apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalclient.errors import DatasetError, UsageError
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.loading import select_samples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROWS: list[dict[str, Any]] = [{"question": f"q{i}", "answer": f"#### {i}"} for i in range(300)]


def _ids(n: int, seed: int = 1234) -> list[str]:
    return [sample.id for sample in select_samples(get_task("gsm8k"), ROWS, n, seed)]


def test_same_seed_and_n_give_the_same_ids() -> None:
    assert _ids(50) == _ids(50)
    assert len(set(_ids(50))) == 50


def test_a_different_seed_gives_other_ids() -> None:
    assert _ids(50, seed=1) != _ids(50, seed=2)


def test_larger_n_is_a_superset() -> None:
    small, large = set(_ids(20)), set(_ids(120))
    assert small <= large
    assert len(large) == 120


def test_subset_keeps_original_order_and_row_index_ids() -> None:
    ids = _ids(40)
    assert ids == sorted(ids, key=int)
    sample = select_samples(get_task("gsm8k"), ROWS, 40, 1234)[0]
    assert sample.row is ROWS[int(sample.id)]


def test_n_at_or_over_the_size_takes_every_row() -> None:
    assert _ids(300) == [str(i) for i in range(300)]
    assert _ids(10_000) == [str(i) for i in range(300)]


def test_zero_and_negative_n() -> None:
    assert _ids(0) == []
    with pytest.raises(UsageError, match="0 or more"):
        _ids(-1)


def test_dataset_ids_come_from_the_id_field() -> None:
    rows = [{"id": f"Q{i}", "question": "?", "choices": {}, "answerKey": "A"} for i in range(5)]
    samples = select_samples(get_task("arc_challenge"), rows, 5, 0)
    assert [s.id for s in samples] == ["Q0", "Q1", "Q2", "Q3", "Q4"]


def test_duplicate_ids_are_refused() -> None:
    rows = [{"id": "same", "question": "?", "choices": {}, "answerKey": "A"} for _ in range(3)]
    with pytest.raises(DatasetError, match="'same' appears more than once"):
        select_samples(get_task("arc_challenge"), rows, 3, 0)


def test_manager_applies_the_sweep_caps(tmp_path: Path, presets_dir: Path) -> None:
    from evalclient.config import load_config

    caps = load_config(presets_dir).sweep.datasets
    (tmp_path / "gsm8k.json").write_text(json.dumps(ROWS), encoding="utf-8")
    manager = DatasetManager(data_dir=tmp_path, seed=7)
    got = manager.get_all_datasets_for_evaluation(250, caps, names=["gsm8k"])
    assert list(got) == ["gsm8k"]
    assert len(got["gsm8k"]) == 150  # presets/sweep.yaml caps gsm8k at 150
    assert len(manager.get_all_datasets_for_evaluation(100, caps, names=["gsm8k"])["gsm8k"]) == 100
    assert len(manager.get_all_datasets_for_evaluation(250, {"gsm8k": 30}, ["gsm8k"])["gsm8k"]) == 30
    assert len(manager.get_all_datasets_for_evaluation(250, None, ["gsm8k"])["gsm8k"]) == 250  # uncapped


def test_manager_samples_both_demo_datasets() -> None:
    manager = DatasetManager(data_dir=FIXTURES, seed=3)
    got = manager.get_all_datasets_for_evaluation(5, names=["gsm8k", "arc_challenge"])
    assert [len(samples) for samples in got.values()] == [5, 5]
    again = DatasetManager(data_dir=FIXTURES, seed=3).get_evaluation_samples("arc_challenge", 5)
    assert [s.id for s in got["arc_challenge"]] == [s.id for s in again]
