"""The CLI contract: plan counts, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "evalclient", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=120,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_plan_default_sweep() -> None:
    result = _cli("plan")
    assert result.returncode == 0, result.stderr
    assert "216 combinations in 18 deployments" in result.stdout
    lines = result.stdout.splitlines()
    routes = [line for line in lines if line.startswith("route:")]
    assert routes == [
        f"route: sweep.yaml engine.models routes {model} to vllm (vllm/vllm-openai:v0.21.0-cu129) "
        "(3 deployments)"
        for model in ("qwen_8b", "qwen_14b")
    ]
    assert (
        "substitution: qwen3_8b on tgi 3.3.7: quantize=fp8 not applied on TransformersFlashCausalLM "
        "(transformers' Qwen3 modelling on TGI's attention) (fallback); weights served in float16" in lines
    )
    assert not [line for line in lines if line.startswith(("refused:", "expected to fail:"))]


def test_unknown_model_lists_valid_names() -> None:
    line = _one_error_line(_cli("plan", "--models", "qwen9_8b"))
    assert "unknown model qwen9_8b" in line
    assert "qwen2.5_8b" in line
    assert "qwen_14b" in line


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--presets", "turbo", "unknown preset turbo"),
        ("--datasets", "squad", "unknown dataset squad"),
    ],
)
def test_unknown_preset_or_dataset(option: str, value: str, expected: str) -> None:
    line = _one_error_line(_cli("run", option, value, "--gpus", "none"))
    assert expected in line
    assert "valid" in line


def test_malformed_preset_file(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    shutil.copytree(ROOT / "presets", folder)
    (folder / "performance.yaml").write_text("name: performance\nmax_concurrent_requests: lots\n")
    line = _one_error_line(_cli("--config-dir", str(folder), "plan"))
    assert "performance.yaml: field 'max_concurrent_requests'" in line


def test_unreachable_docker_engine(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    line = _one_error_line(
        _cli(
            "run",
            "--models",
            "qwen2.5_8b",
            "--presets",
            "balanced",
            "--datasets",
            "gsm8k",
            "--gpus",
            "none",
            "--output",
            str(tmp_path),
            env=env,
        )
    )
    assert "cannot reach the Docker engine" in line
    line = _one_error_line(_cli("cleanup", env=env))
    assert "cannot reach the Docker engine at unix:///nonexistent/docker.sock (no such socket)" in line


def test_eval_all_without_gpu_points_to_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process with the GPU probe faked, so that on a GPU host (a CI GPU runner) no sweep can start."""
    from click.testing import CliRunner

    import evalclient.monitor
    import evalclient.sweep.runner
    from evalclient.cli import cli
    from evalclient.monitor.nvml import GpuProbe

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("eval-all must stop before building a runner")

    monkeypatch.setattr(evalclient.monitor, "probe_gpus", lambda: GpuProbe(0, (), "NVML: faked for the test"))
    monkeypatch.setattr(evalclient.sweep.runner, "EvaluationRunner", never)
    result = CliRunner().invoke(cli, ["eval-all"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: no NVIDIA GPU found (NVML: faked for the test); `make eval-all` needs a GPU host; "
        "run `make demo` to try the suite with the simulator"
    ]


def test_listing_commands() -> None:
    models = _cli("models", "list")
    assert models.returncode == 0
    assert "Qwen/Qwen-14B-Chat" in models.stdout
    assert "no 8B Qwen2.5 checkpoint" in models.stdout
    presets = _cli("presets", "show", "memory_optimized", "--engine", "vllm")
    assert presets.returncode == 0
    assert "--quantization fp8" in presets.stdout
    datasets = _cli("datasets", "list")
    assert datasets.returncode == 0
    assert "arc_challenge" in datasets.stdout
    assert "toolllama" in datasets.stdout
    gsm8k = next(line for line in datasets.stdout.splitlines() if "│ gsm8k " in line)
    assert [cell.strip() for cell in gsm8k.split("│")[1:-1]] == [
        "gsm8k", "openai/gsm8k (main)", "test", "cc7b047b6e5b", "1,319",
        "main/test-00000-of-00001.parquet", "chat",
    ]  # fmt: skip


def test_data_file_needs_one_dataset(tmp_path: Path, fixtures_dir: Path) -> None:
    line = _one_error_line(
        _cli(
            "run",
            "--datasets",
            "gsm8k,arc_challenge",
            "--data-file",
            str(fixtures_dir / "gsm8k.jsonl"),
            "--gpus",
            "none",
            "--output",
            str(tmp_path),
        )
    )
    assert "--data-file needs exactly one dataset, but 2 are selected" in line


def test_data_file_feeds_the_run(tmp_path: Path, fixtures_dir: Path) -> None:
    import json

    bad = tmp_path / "gsm8k.jsonl"
    bad.write_text(json.dumps({"question": "no answer field"}) + "\n")
    result = _cli(
        *("run", "--models", "qwen2.5_8b", "--presets", "balanced", "--datasets", "gsm8k", "--quiet"),
        *("--data-file", str(bad), "--endpoint", "http://127.0.0.1:9", "--output", str(tmp_path / "o")),
    )
    assert result.returncode == 1
    assert "gsm8k.jsonl" in result.stderr
    assert "answer" in result.stderr


def test_judge_with_nothing_stored_says_so(tmp_path: Path) -> None:
    line = _one_error_line(_cli("judge", "--output", str(tmp_path), "--judge-endpoint", "http://127.0.0.1:9"))
    assert "no stored mt_bench or alpaca_eval answers to judge" in line


def test_judge_takes_one_judge_and_judged_datasets_only(tmp_path: Path) -> None:
    both = _cli(
        "judge", "--output", str(tmp_path), "--judge-endpoint", "http://x", "--judge-model", "qwen3_14b"
    )
    assert "--judge-endpoint and --judge-model exclude each other" in _one_error_line(both)
    gsm8k = _cli("judge", "--output", str(tmp_path), "--judge-endpoint", "http://x", "--datasets", "gsm8k")
    assert "not judged datasets: gsm8k" in _one_error_line(gsm8k)


def test_plan_on_eight_80_gb_gpus_shows_the_schedule_and_the_wall_time() -> None:
    result = _cli("plan", "--gpus", "virtual:8x80@9.0")
    assert result.returncode == 0, result.stderr
    assert "schedule on 8 virtual GPUs of 80 GB (estimated)" in result.stdout
    assert (
        "estimated wall time: ~71 min on 8 virtual GPUs of 80 GB (one deployment at a time: ~8.3 h)"
        in result.stdout
    )
    assert "cannot run" not in result.stdout  # on vLLM, Qwen-14B's memory_optimized preset is fp8


def test_plan_sizes_on_the_gpus_nvml_reports() -> None:
    import io

    from rich.console import Console

    from evalclient.config import load_config
    from evalclient.monitor.nvml import GpuProbe
    from evalclient.planning.plan import build_plan
    from evalclient.planning.slots import real_pool
    from evalclient.planning.view import render_plan

    config = load_config(ROOT / "presets")
    plan = build_plan(config, models=["qwen3_8b", "qwen3_14b"], presets=["balanced"], datasets=["gsm8k"],
                      samples=150, engine="tgi", image=None)  # fmt: skip
    probe = GpuProbe(2, ("NVIDIA L4",) * 2, None, (24.0, 24.0), ((8, 9), (8, 9)), "575.51.03", (12, 9))
    text = io.StringIO()
    render_plan(plan, Console(file=text, width=200, color_system=None), real_pool((0, 1), probe), probe)
    shown = text.getvalue()
    assert "2: fits (15/22 GB per GPU on 2 GPUs)" in shown  # the 14B model spans both L4s
    assert "schedule on 2 GPUs of 24 GB (NVIDIA L4) (estimated)" in shown
    assert "estimated wall time: ~9 min on 2 GPUs of 24 GB (NVIDIA L4)" in shown


def test_plan_json_is_the_whole_plan_machine_readable() -> None:
    result = _cli(
        "plan", "--json", "--gpus", "virtual:8x80@9.0", "--datasets", "gsm8k,humaneval_completion,bfcl"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"schema_version", "engine", "image", "gpus", "deployments", "notes", "schedule",
                             "totals"}  # fmt: skip
    assert (document["schema_version"], document["engine"]) == (1, "tgi")
    assert document["gpus"] == {
        "ids": list(range(8)), "virtual": True, "memory_gb": [80.0] * 8, "compute_capability": [[9, 0]] * 8,
    }  # fmt: skip
    deployments = {d["key"]: d for d in document["deployments"]}
    assert len(deployments) == 18
    fields = {"key", "model", "hub_id", "revision", "architecture", "preset", "engine", "image",
              "engine_version", "capabilities_assumed", "serving_path", "serving_path_name", "substitutions",
              "refusal", "route", "starts", "served_preset", "weights_gb", "datasets", "gpus_needed", "fit",
              "command", "environment"}  # fmt: skip
    assert all(set(d) == fields for d in deployments.values())
    qwen3 = deployments["qwen3_8b_memory_optimized"]
    assert (qwen3["engine"], qwen3["serving_path"], qwen3["served_preset"]["quantize"]) == (
        "tgi",
        "fallback",
        None,
    )
    assert qwen3["weights_gb"] == 16.4
    assert len(qwen3["substitutions"]) == 3
    assert qwen3["command"][qwen3["command"].index("--max-stop-sequences") :][:2] == [
        "--max-stop-sequences",
        "5",
    ]
    assert {d["name"]: d["mode"] for d in qwen3["datasets"]} == {
        "gsm8k": None, "humaneval_completion": None, "bfcl": "prompt",
    }  # fmt: skip
    v1 = deployments["qwen_14b_balanced"]
    assert (v1["engine"], v1["image"], v1["engine_version"]) == (
        "vllm",
        "vllm/vllm-openai:v0.21.0-cu129",
        "0.21.0",
    )
    assert v1["route"] == "sweep.yaml engine.models routes qwen_14b to vllm (vllm/vllm-openai:v0.21.0-cu129)"
    assert {d["name"]: d["mode"] for d in v1["datasets"]}["bfcl"] == "native"
    assert v1["command"][:2] == ["--model", "Qwen/Qwen-14B-Chat"]
    assert "VLLM_MAX_STOP_STRINGS" not in v1["environment"]  # vLLM 0.21.0 takes any number of stop strings
    assert all(d["starts"] and d["fit"]["runs"] and d["gpus_needed"] == 1 for d in deployments.values())
    assert sorted(p["deployment"] for p in document["schedule"]) == sorted(deployments)
    assert document["totals"]["combinations"] == 54
    assert document["totals"]["deployments_started"] == 18
    assert document["notes"] == [
        "humaneval_completion: no cap in sweep.yaml; 150 samples",
        "bfcl: prompt mode on tgi, which returns one tool call per turn (its parallel categories need "
        "several)",
    ]


def test_plan_json_says_which_deployment_is_refused() -> None:
    result = _cli("plan", "--json", "--gpus", "none", "--models", "qwen_8b", "--presets", "balanced",
                  "--datasets", "gsm8k", "--engine", "vllm",
                  "--image", "vllm/vllm-openai:v0.33.0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    [deployment] = json.loads(result.stdout)["deployments"]
    assert (deployment["starts"], deployment["command"], deployment["fit"]) == (False, None, None)
    assert deployment["refusal"].startswith("vllm 0.33.0 cannot start Qwen/Qwen-7B-Chat (QWenLMHeadModel): ")
