"""Loading rows: JSON, JSON Lines and Parquet files, schema errors, the hub's pinned files (stand-in hub)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from evalclient.errors import DatasetError, UsageError
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.hub import HubStore
from evalclient.tasks.loading import find_data_file, load_file_rows, load_hub_rows, load_task_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ARC_JSONL = FIXTURES / "arc_challenge.jsonl"
GSM8K_JSONL = FIXTURES / "gsm8k.jsonl"


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hub to reach: HF_ENDPOINT at a port nothing listens on, the hub client allowed to try."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")


def test_jsonl_rows() -> None:
    rows = load_file_rows(ARC_JSONL)
    assert len(rows) == 12
    assert rows[3]["choices"]["label"] == ["1", "2", "3", "4"]


def test_json_list_rows(tmp_path: Path) -> None:
    path = tmp_path / "arc_challenge.json"
    path.write_text(json.dumps(_jsonl_rows(ARC_JSONL)), encoding="utf-8")
    assert load_file_rows(path) == load_file_rows(ARC_JSONL)


def test_json_lines_under_a_json_name(tmp_path: Path) -> None:
    path = tmp_path / "bfcl.json"
    shutil.copy(ARC_JSONL, path)
    assert load_file_rows(path) == load_file_rows(ARC_JSONL)


def test_parquet_rows_match_jsonl() -> None:
    assert load_file_rows(FIXTURES / "arc_challenge.parquet") == load_file_rows(ARC_JSONL)


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "gsm8k.jsonl"
    path.write_text("\n" + GSM8K_JSONL.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    assert len(load_file_rows(path)) == 12


def test_missing_field_names_file_row_and_field(tmp_path: Path) -> None:
    rows = _jsonl_rows(ARC_JSONL)
    del rows[4]["answerKey"]
    path = tmp_path / "arc.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_task_rows(get_task("arc_challenge"), path)
    message = str(caught.value)
    assert str(path) in message
    assert "row 4" in message
    assert "'answerKey'" in message
    assert "\n" not in message


def test_row_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "gsm8k.json"
    path.write_text(json.dumps([{"question": "q", "answer": "#### 1"}, [1, 2]]), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"row 1 \(0-based\) is not an object"):
        load_task_rows(get_task("gsm8k"), path)


def test_bad_json_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gsm8k.jsonl"
    path.write_text('{"question": "q", "answer": "#### 1"}\n{"question": \n', encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2 is not valid JSON"):
        load_file_rows(path)


def test_json_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "gsm8k.json"
    path.write_text(json.dumps({"question": "q"}), encoding="utf-8")
    with pytest.raises(DatasetError, match="expected a JSON list of rows"):
        load_file_rows(path)


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    csv = tmp_path / "gsm8k.csv"
    csv.write_text("question,answer\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"unsupported type \.csv"):
        load_file_rows(csv)
    with pytest.raises(DatasetError, match="does not exist"):
        load_file_rows(tmp_path / "nope.jsonl")


def test_find_data_file_prefers_jsonl(tmp_path: Path) -> None:
    assert find_data_file(tmp_path, "gsm8k") is None
    (tmp_path / "gsm8k.parquet").write_bytes(b"")
    assert find_data_file(tmp_path, "gsm8k") == tmp_path / "gsm8k.parquet"
    (tmp_path / "gsm8k.jsonl").write_text("", encoding="utf-8")
    assert find_data_file(tmp_path, "gsm8k") == tmp_path / "gsm8k.jsonl"


def test_hub_failure_is_a_dataset_error(offline_hub: None, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        load_hub_rows(get_task("gsm8k"), cache_dir=tmp_path)
    message = str(caught.value)
    assert "openai/gsm8k" in message
    assert "--data-dir/--data-file" in message
    assert "evalclient datasets fetch" in message
    assert "\n" not in message


def test_the_hub_is_asked_for_the_pinned_files_of_the_split_alone(hub: Any, tmp_path: Path) -> None:
    task = get_task("gsm8k")
    rows = load_task_rows(task, None, tmp_path)
    assert len(rows) == 1319
    assert [p for p in hub.downloaded()] == [
        f"/datasets/openai/gsm8k/resolve/{task.source.revision}/main/test-00000-of-00001.parquet"
    ]


def test_a_repository_with_a_loading_script_is_read_from_its_data_file(hub: Any, tmp_path: Path) -> None:
    rows = load_task_rows(get_task("alpaca_eval"), None, tmp_path)
    assert (len(rows), rows[0]["generator"]) == (805, "gpt4_1106_preview")
    assert load_task_rows(get_task("alpaca_eval_v1"), None, tmp_path)[0]["generator"] == "text_davinci_003"
    assert [p.rsplit("/", 1)[1] for p in hub.downloaded()] == [
        "alpaca_eval_gpt4_baseline.json",
        "alpaca_eval.json",
    ]


def test_a_task_may_read_its_hub_files_itself_and_complete_its_rows(tmp_path: Path) -> None:
    seen: list[Path | None] = []

    def hub_rows(store: HubStore) -> list[dict[str, object]]:
        seen.append(store.cache_dir)
        return [{"q": "a"}, {"q": "b"}]

    task = replace(
        get_task("gsm8k"),
        source=replace(get_task("gsm8k").source, rows=()),
        required_fields=("q",),
        hub_rows=hub_rows,
        prepare_rows=lambda rows: [{**row, "n": i} for i, row in enumerate(rows)],
    )
    assert load_task_rows(task, None, tmp_path) == [{"q": "a", "n": 0}, {"q": "b", "n": 1}]
    assert seen == [tmp_path]

    def offline(store: HubStore) -> list[dict[str, object]]:
        raise OSError("no network")

    with pytest.raises(DatasetError, match=r"cannot load gsm8k from the hub .*: no network; pass --data-dir"):
        load_task_rows(replace(task, hub_rows=offline))


def test_hub_rows_are_validated(hub: Any, tmp_path: Path) -> None:
    task = replace(get_task("gsm8k"), required_fields=("question", "answer", "steps"))
    expected = r"openai/gsm8k/main:test@\w+: row 0 \(0-based\) has no field 'steps'"
    with pytest.raises(DatasetError, match=expected):
        load_task_rows(task, None, tmp_path)


def test_manager_reads_data_dir_and_fingerprints_the_file(tmp_path: Path, offline_hub: None) -> None:
    shutil.copy(GSM8K_JSONL, tmp_path / "gsm8k.jsonl")
    manager = DatasetManager(data_dir=tmp_path)
    assert len(manager.get_evaluation_samples("gsm8k", 5)) == 5
    expected = hashlib.sha256((tmp_path / "gsm8k.jsonl").read_bytes()).hexdigest()
    assert manager.dataset_fingerprint("gsm8k") == f"sha256:{expected}"


def test_manager_hub_fingerprint_names_the_revision() -> None:
    revision = get_task("arc_challenge").source.revision
    assert (
        DatasetManager().dataset_fingerprint("arc_challenge")
        == f"hub:allenai/ai2_arc/ARC-Challenge:test@{revision}"
    )


def test_manager_explicit_data_file_wins(tmp_path: Path) -> None:
    parquet = FIXTURES / "arc_challenge.parquet"
    manager = DatasetManager(data_dir=tmp_path, data_files={"arc_challenge": parquet})
    assert manager.data_file_for("arc_challenge") == parquet
    assert manager.get_evaluation_samples("arc_challenge", 100)[0].id == "Demo-ARC-001"


def test_manager_rejects_unknown_data_file_names() -> None:
    with pytest.raises(UsageError, match="unknown dataset 'gsm9k'"):
        DatasetManager(data_files={"gsm9k": GSM8K_JSONL})


def test_manager_offline_without_file_says_what_is_missing(tmp_path: Path, offline_hub: None) -> None:
    manager = DatasetManager(data_dir=tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(DatasetError) as caught:
        manager.get_evaluation_samples("gsm8k", 3)
    message = str(caught.value)
    assert f"{tmp_path} has no gsm8k.jsonl, .json or .parquet" in message
    assert "--data-dir/--data-file" in message


def test_manager_loads_rows_once(hub: Any, tmp_path: Path) -> None:
    manager = DatasetManager(cache_dir=tmp_path)
    manager.get_evaluation_samples("gsm8k", 3)
    manager.get_evaluation_samples("gsm8k", 7)
    assert len(hub.downloaded()) == 1
