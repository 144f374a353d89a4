"""How the code sandbox is chosen: lazily, from settings and environment, recorded with the scores."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from evalclient.config import SandboxSettings, load_config
from evalclient.errors import DockerUnavailableError, UsageError
from evalclient.sandbox import NOT_USED, choose_sandbox, sandbox_settings
from evalclient.sandbox.local import SUBPROCESS_NAME
from evalclient.tasks.context import Program, ScoreContext
from evalclient.tasks.offline_scoring import score_predictions

NO_ENGINE = "unix:///nonexistent/evalclient-test.sock"


def test_environment_overrides_the_sweep_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALCLIENT_SANDBOX", "subprocess")
    monkeypatch.setenv("EVALCLIENT_SANDBOX_IMAGE", "python:3.11-slim")
    settings = sandbox_settings(SandboxSettings(kind="docker", timeout_s=5))
    assert (settings.kind, settings.image, settings.timeout_s) == ("subprocess", "python:3.11-slim", 5)
    monkeypatch.setenv("EVALCLIENT_SANDBOX", "vm")
    with pytest.raises(UsageError, match="EVALCLIENT_SANDBOX='vm' is not a sandbox kind"):
        sandbox_settings()


def test_the_sweep_file_has_the_defaults(presets_dir: Path) -> None:
    settings = load_config(presets_dir).sweep.sandbox
    assert settings == SandboxSettings()
    assert (settings.kind, settings.image, settings.timeout_s) == ("auto", None, 3.0)


async def test_nothing_starts_before_a_program_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALCLIENT_SANDBOX", raising=False)
    sandbox = choose_sandbox(SandboxSettings())
    assert (sandbox.name, sandbox.started) == (NOT_USED, False)
    assert await sandbox.run([]) == []
    assert not sandbox.started


async def test_without_docker_auto_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("EVALCLIENT_SANDBOX", raising=False)
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    sandbox = choose_sandbox(SandboxSettings(kind="auto"))
    with caplog.at_level(logging.WARNING, logger="evalclient.sandbox"):
        (result,) = await sandbox.run([Program("x = 1\n", "assert x == 1\n")])
    assert result.status == "passed"
    assert sandbox.name == SUBPROCESS_NAME == "subprocess (weaker isolation)"
    assert "weaker isolation than a container" in caplog.text


async def test_docker_asked_for_and_missing_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALCLIENT_SANDBOX", raising=False)
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    with pytest.raises(DockerUnavailableError, match="cannot reach the Docker engine"):
        await choose_sandbox(SandboxSettings(kind="docker")).run([Program("", "")])


async def test_a_task_without_code_starts_no_sandbox(fixtures_dir: Path, tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "0", "response": "#### 3"}) + "\n")
    sandbox = choose_sandbox(SandboxSettings(kind="docker"))
    result = await score_predictions(
        "gsm8k", predictions, fixtures_dir / "gsm8k.jsonl", context=ScoreContext(sandbox=sandbox)
    )
    assert "sandbox" not in result.metrics
    assert not sandbox.started


async def test_the_run_records_the_sandbox_of_code_datasets(
    start_sim: Any, tmp_path: Path, fixtures_dir: Path, presets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalclient.planning.plan import build_plan
    from evalclient.sim.rules import load_rules
    from evalclient.sweep.demo import demo_data_dir
    from evalclient.sweep.runner import EvaluationRunner, RunOptions

    monkeypatch.setenv("EVALCLIENT_SANDBOX", "subprocess")
    data = tmp_path / "data"
    shutil.copytree(demo_data_dir(), data)
    shutil.copy(fixtures_dir / "mbpp.jsonl", data / "mbpp.jsonl")
    url = await start_sim(
        load_rules(demo_data_dir().parent / "demo_rules.yaml"), model_id="Qwen/Qwen2.5-7B-Instruct"
    )
    config = load_config(presets_dir)
    plan = build_plan(config, models=["qwen2.5_8b"], presets=["balanced"], datasets=["gsm8k", "mbpp"],
                      samples=3, engine="tgi", image=None)  # fmt: skip
    options = RunOptions(output=tmp_path / "out", endpoint=url, data_dir=data, retry_wait_s=0.01)
    runner = EvaluationRunner(config, plan, options)
    summary = await runner.run()
    assert [(o.dataset, o.status) for o in summary.outcomes] == [("gsm8k", "complete"), ("mbpp", "complete")]
    detailed = tmp_path / "out" / "metrics" / "detailed"
    mbpp = json.loads((detailed / "qwen2.5_8b_balanced_mbpp.json").read_text())["dataset_metrics"]
    gsm8k = json.loads((detailed / "qwen2.5_8b_balanced_gsm8k.json").read_text())["dataset_metrics"]
    assert mbpp["sandbox"] == "subprocess (weaker isolation)"
    assert mbpp["num_programs"] == 3
    assert set(mbpp) >= {"pass@1", "code_execution_success_rate", "execution_statuses", "timeout_s"}
    assert "sandbox" not in gsm8k
