"""The predictions line, typed: `PredictionRow` is what the sweep writes and what every reader reads back, the
line unchanged; the noise floor's repeats get the rows the combination just wrote without reading its file;
each combination's fingerprint is computed once, by the skip check, and carried to its record."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from evalclient.client.completion import ErrorKind, RequestError
from evalclient.config import load_config
from evalclient.deploy.deployment import Deployment
from evalclient.planning.plan import build_plan
from evalclient.results import PredictionRow, ResultsOrganizer, combination_fingerprint
from evalclient.sim.rules import load_rules
from evalclient.sweep.combination import prediction_row
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.deployment_run import DeploymentRun, RunContext
from evalclient.sweep.runner import EvaluationRunner, RunOptions
from evalclient.tasks.base import SampleOutput
from evalclient.tasks.manager import DatasetManager
from evalclient.tasks.offline_scoring import prediction_output

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")


@pytest.fixture
def sim(start_sim: Callable[..., Any]) -> Callable[..., Any]:
    rules = load_rules(demo_data_dir().parent / "demo_rules.yaml")
    return lambda **overrides: start_sim(rules, model_id="Qwen/Qwen2.5-7B-Instruct", **overrides)


def _plan(datasets: tuple[str, ...]) -> Any:
    return build_plan(CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=datasets, samples=6,
                      engine="tgi", image=None)  # fmt: skip


def _runner(endpoint: str, out: Path, datasets: tuple[str, ...], **kw: Any) -> EvaluationRunner:
    options = RunOptions(output=out, endpoint=endpoint, data_dir=demo_data_dir(), retry_wait_s=0.01, **kw)
    return EvaluationRunner(CONFIG, _plan(datasets), options)


def _record(out: Path, dataset: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (out / f"metrics/detailed/qwen2.5_8b_balanced_{dataset}.json").read_text()
    )
    return data


async def test_a_runs_predictions_lines_read_back_as_written(sim: Any, tmp_path: Path) -> None:
    url = await sim(prefill_logprobs=True, fault_stream_error_every=3)
    await _runner(url, tmp_path, ("gsm8k", "hellaswag", "bfcl"), max_retries=0).run()
    failed = 0
    for dataset in ("gsm8k", "hellaswag", "bfcl"):
        path = tmp_path / _record(tmp_path, dataset)["predictions_file"]
        for line in path.read_text(encoding="utf-8").splitlines():
            row = PredictionRow.from_dict(json.loads(line))
            assert json.dumps(row.as_dict(), ensure_ascii=False) == line  # the same dict, the same bytes
            assert (
                prediction_row(SampleOutput.from_prediction(row), row.score) == row
            )  # the output it holds writes it again
            failed += not row.answered
    assert failed  # failed samples' lines, with their errors, too


def test_a_line_without_solver_error_holds_it_under_error() -> None:
    """A checkpoint's line (`SampleOutput.as_dict`) given to `evalclient score` keeps its solver error."""
    error = RequestError(ErrorKind.INTERNAL, "solver bug")
    line = SampleOutput("7", [], error).as_dict()
    assert prediction_output(line).error == error
    assert not PredictionRow.from_dict(line).answered


def test_a_predictions_lines_request_error_is_not_the_solvers() -> None:
    line = PredictionRow("1", error={"kind": "timeout", "message": "slow", "status": None}).as_dict()
    output = prediction_output(line)
    assert (output.error, output.completions) == (None, [])
    assert not PredictionRow.from_dict(line).answered


def test_a_foreign_line_reads_as_the_reports_read_it() -> None:
    row = PredictionRow.from_dict({"id": 3, "score": "right", "completions": "none"})
    assert (row.id, row.score, row.completions, row.answered) == ("3", {}, [], True)
    assert row.answer == (None, None, None)


async def test_the_repeats_get_the_rows_without_reading_the_predictions(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_text = Path.read_text

    def no_predictions(path: Path, *args: Any, **kwargs: Any) -> str:
        assert "by_model" not in path.parts, f"{path} read back"
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", no_predictions)
    await _runner(await sim(), tmp_path, ("gsm8k",), repeat_subset=3, concurrency=8).run()
    monkeypatch.undo()
    record = _record(tmp_path, "gsm8k")
    first = (tmp_path / record["predictions_file"]).read_text().splitlines()[:3]
    lines = (tmp_path / "predictions/repeats/qwen2.5_8b_balanced_gsm8k.jsonl").read_text().splitlines()
    repeats = [json.loads(line) for line in lines]
    assert [(r["id"], r["first_response"], r["first_score"]) for r in repeats] == [
        (p["id"], p["response"], p["score"]) for p in map(json.loads, first)
    ]
    assert {r["fingerprint"] for r in repeats} == {record["fingerprint"]}


async def test_each_fingerprint_is_computed_once(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets: list[str] = []
    hashed: list[dict[str, Any]] = []
    dataset_fingerprint = DatasetManager.dataset_fingerprint

    def count_dataset(manager: DatasetManager, ref: Any) -> str:
        datasets.append(ref.name)
        return dataset_fingerprint(manager, ref)

    def count_hash(**inputs: Any) -> str:
        hashed.append(inputs)
        return combination_fingerprint(**inputs)

    monkeypatch.setattr(DatasetManager, "dataset_fingerprint", count_dataset)
    monkeypatch.setattr("evalclient.sweep.deployment_run.combination_fingerprint", count_hash)
    url = await sim(prefill_logprobs=True)
    await _runner(url, tmp_path, ("gsm8k", "hellaswag")).run()
    assert datasets == ["gsm8k", "hellaswag"]
    assert [_record(tmp_path, d)["fingerprint"] for d in datasets] == [
        combination_fingerprint(**i) for i in hashed
    ]
    summary = await _runner(url, tmp_path, ("gsm8k", "hellaswag")).run()
    assert [o.status for o in summary.outcomes] == ["skipped", "skipped"]
    assert len(datasets) == len(hashed) == 4


def test_a_server_on_another_image_or_commit_gets_its_own_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the started server runs another image or commit than the skip check knew of, the record's
    fingerprint follows it (as before), the dataset's part not asked for again."""
    plan = _plan(("gsm8k",))
    manager = DatasetManager(demo_data_dir(), None)
    asked: list[str] = []
    dataset_fingerprint = manager.dataset_fingerprint

    def count(ref: Any) -> str:
        asked.append(ref.name)
        return dataset_fingerprint(ref)

    monkeypatch.setattr(manager, "dataset_fingerprint", count)
    options = RunOptions(output=tmp_path, data_dir=demo_data_dir())
    unused: Any = None  # the provider, the slot, the view and the reporter: not reached here
    context = RunContext(CONFIG, plan, options, "run", ResultsOrganizer(tmp_path), manager, unused, None)
    deployment = plan.deployments[0]
    run = DeploymentRun(context, deployment, unused, 1, unused, unused)
    task = deployment.job("gsm8k").spec
    samples = manager.get_evaluation_samples(task, 6)
    run._incomplete(deployment, {"gsm8k": samples}, "sha256:aaa", unused)
    known = run.fingerprints["gsm8k"]

    def served(image_id: str) -> str:
        container: Any = SimpleNamespace(image_id=image_id)
        server = Deployment("http://server", container=container)
        return run._served_fingerprint(deployment, server, "gsm8k", samples)

    assert served("sha256:aaa") == known.value
    other_image = served("sha256:bbb")
    run.revision = "c" * 40
    other_commit = served("sha256:aaa")
    assert len({known.value, other_image, other_commit}) == 3
    assert asked == ["gsm8k"]
    assert other_commit == run._fingerprint(deployment, "sha256:aaa", task, samples).value
