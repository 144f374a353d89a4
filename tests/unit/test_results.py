"""The results tree: layout, hard-linked prediction views, atomic writes, fingerprints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evalclient.errors import ResultsError
from evalclient.results import CombinationRecord, ResultsOrganizer, SampleError, combination_fingerprint
from evalclient.results.atomic import atomic_write_json
from evalclient.results.organizer import DIRECTORIES


def test_layout_is_created(tmp_path: Path) -> None:
    ResultsOrganizer(tmp_path / "r")
    for directory in DIRECTORIES:
        assert (tmp_path / "r" / directory).is_dir()
    assert not (tmp_path / "r" / "reports").exists()  # the report makes its folders as it writes them


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


def _record(**changes: object) -> CombinationRecord:
    fields: dict[str, object] = dict(
        run_id="r1",
        model="m",
        model_id="Q/m",
        preset="p",
        dataset="d",
        engine="tgi",
        status="partial",
        timestamp="20260101_000000",
        fingerprint="abc",
        num_samples=2,
        num_errors=1,
        errors=[SampleError(id="1", kind="timeout", message="no complete answer in time")],
        dataset_metrics={"accuracy": 0.5},
        performance_metrics={"num_errors": 1, "avg_latency_ms": None},
        performance_unavailable={"avg_latency_ms": "no successful requests"},
    )
    fields.update(changes)
    return CombinationRecord.model_validate(fields)


def test_combination_record_round_trip(tmp_path: Path) -> None:
    results = ResultsOrganizer(tmp_path)
    assert results.load_combination("m", "p", "d") is None
    path = results.save_combination(_record())
    assert path == tmp_path / "metrics/detailed/m_p_d.json"
    assert json.loads(path.read_text())["schema_version"] == 2
    assert results.load_combination("m", "p", "d") == _record()
    assert list(results.iter_combinations()) == [_record()]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"model": "m"}', "has schema version None, this evalclient reads 2"),
        ('{"schema_version": 2, "model": "m"}', "field 'run_id': Field required"),
    ],
)
def test_an_unreadable_metrics_file_is_an_error_naming_it(tmp_path: Path, content: str, message: str) -> None:
    results = ResultsOrganizer(tmp_path)
    results.save_combination(_record(dataset="ok"))
    bad = results.detailed_metrics_path("m", "p", "d")
    bad.write_text(content)
    with pytest.raises(ResultsError, match=re.escape(f"metrics file {bad}") + ".*" + re.escape(message)):
        list(results.iter_combinations())
    with pytest.raises(ResultsError):
        results.load_combination("m", "p", "d")


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
