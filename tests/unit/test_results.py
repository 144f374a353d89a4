"""The results tree: layout, hard-linked prediction views, atomic writes, fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

from evalclient.results import ResultsOrganizer, combination_fingerprint
from evalclient.results.atomic import atomic_write_json
from evalclient.results.organizer import DIRECTORIES


def test_layout_is_created(tmp_path: Path) -> None:
    ResultsOrganizer(tmp_path / "r")
    for directory in DIRECTORIES:
        assert (tmp_path / "r" / directory).is_dir()


def test_prediction_views_are_one_file(tmp_path: Path) -> None:
    results = ResultsOrganizer(tmp_path)
    views = results.save_predictions(
        "m", "p", "gsm8k", [{"id": "0", "response": "4"}], stamp="20260101_000000"
    )
    assert [v.relative_to(tmp_path).as_posix() for v in views] == [
        "predictions/by_model/m/m_p_gsm8k_20260101_000000.jsonl",
        "predictions/by_dataset/gsm8k/m_p_gsm8k_20260101_000000.jsonl",
        "predictions/by_preset/p/m_p_gsm8k_20260101_000000.jsonl",
    ]
    inodes = {v.stat().st_ino for v in views}
    assert len(inodes) == 1
    assert json.loads(views[2].read_text()) == {"id": "0", "response": "4"}


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "x.json"
    atomic_write_json(target, {"k": 1})
    atomic_write_json(target, {"k": 2})
    assert json.loads(target.read_text()) == {"k": 2}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_detailed_metrics_round_trip(tmp_path: Path) -> None:
    results = ResultsOrganizer(tmp_path)
    assert results.load_detailed_metrics("m", "p", "d") is None
    results.save_detailed_metrics("m", "p", "d", {"fingerprint": "abc"})
    assert results.load_detailed_metrics("m", "p", "d") == {"fingerprint": "abc"}
    assert list(results.iter_detailed_metrics()) == [{"fingerprint": "abc"}]


def test_performance_csv_quotes_and_blanks(tmp_path: Path) -> None:
    results = ResultsOrganizer(tmp_path)
    path = results.save_performance_samples("m", "p", [{"t": 1, "a": "x,y"}, {"t": 2, "b": None}])
    assert path.read_text().splitlines() == ["t,a,b", '1,"x,y",', "2,,"]


def test_fingerprint_changes_with_inputs_but_not_port() -> None:
    base = dict(
        model_id="Q",
        model_revision="main",
        launch_args=["--port", "1", "--dtype", "bfloat16"],
        image="img",
        image_id="sha256:1",
        dataset_revision="rev",
        sample_ids=["1", "2"],
    )
    same = {**base, "launch_args": ["--port", "2", "--dtype", "bfloat16"]}
    assert combination_fingerprint(**base) == combination_fingerprint(**same)  # type: ignore[arg-type]
    for key, value in (
        ("image_id", "sha256:2"),
        ("sample_ids", ["1"]),
        ("model_revision", "abc"),
        ("launch_args", ["--port", "1", "--dtype", "float16"]),
    ):
        changed = {**base, key: value}
        assert combination_fingerprint(**base) != combination_fingerprint(**changed)  # type: ignore[arg-type]
