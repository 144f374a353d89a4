"""The CI workflows: CPU tests on every push and pull request; the GPU sweep on releases, a schedule and by
hand, with the inputs, artifacts, summary and cleanup it promises; the summary table it writes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return loaded


def test_ci_runs_the_readme_test_command_on_push_and_pull_request() -> None:
    ci = _workflow("ci.yml")
    assert sorted(ci[True]) == ["pull_request", "push"]  # YAML 1.1 reads the key `on` as True
    steps = ci["jobs"]["test"]["steps"]
    assert steps[-1]["run"] == 'sudo --preserve-env env "PATH=$PATH" bash .ci/run'


def test_gpu_eval_triggers_inputs_and_always_steps() -> None:
    gpu = _workflow("gpu-eval.yml")
    assert sorted(gpu[True]) == ["release", "schedule", "workflow_dispatch"]
    assert sorted(gpu[True]["workflow_dispatch"]["inputs"]) == [
        "datasets",
        "image",
        "models",
        "presets",
        "samples",
    ]
    job = gpu["jobs"]["sweep"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    runs = [str(step.get("run", "")) for step in job["steps"]]
    doctor = next(i for i, run in enumerate(runs) if "evalclient doctor" in run)
    sweep = next(i for i, run in enumerate(runs) if "evalclient run" in run)
    assert doctor < sweep  # the host is checked before any work
    after = job["steps"][sweep + 1 :]
    assert after
    assert all(step.get("if") == "always()" for step in after)  # a failed sweep still reports and cleans up
    assert any("evalclient cleanup" in str(step.get("run", "")) for step in after)
    assert any("GITHUB_STEP_SUMMARY" in str(step.get("run", "")) for step in after)
    uploads = [
        step["with"]["path"] for step in after if str(step.get("uses", "")).startswith("actions/upload")
    ]
    assert "${{ env.RESULTS }}" in uploads


def test_the_workflow_passes_only_options_the_cli_has() -> None:
    """Every --option the GPU workflow gives `evalclient <command>` is one that command accepts."""
    from evalclient.cli import cli

    for step in _workflow("gpu-eval.yml")["jobs"]["sweep"]["steps"]:
        run = str(step.get("run", ""))
        command = re.search(r"evalclient (\w[\w-]*)", run)
        if command is None or command.group(1) not in cli.commands:  # type: ignore[attr-defined]
            continue
        accepted = {o for p in cli.commands[command.group(1)].params for o in p.opts}  # type: ignore[attr-defined]
        given = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", run)) - {"--help"}
        assert given <= accepted, (command.group(1), sorted(given - accepted))


def test_summary_table_is_markdown_of_the_summary_csv(tmp_path: Path) -> None:
    script = ROOT / ".github" / "scripts" / "summary_table.py"
    empty = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert empty.stdout.splitlines()[-1].startswith("No summary was written")
    summary = tmp_path / "metrics" / "aggregated" / "summary.csv"
    summary.parent.mkdir(parents=True)
    summary.write_text(
        "model,preset,dataset,status,num_samples,score_name,score,throughput_tokens_per_second,avg_latency_ms,"
        "num_errors\nqwen3_8b,balanced,gsm8k,complete,50,accuracy,0.88,1234.5,812.25,0\n"
        "qwen3_8b,balanced,hellaswag,failed,50,,,,,50\n"
    )
    table = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert table.stdout.splitlines()[2:] == [
        "| model | preset | dataset | status | n | metric | score | tok/s | latency ms | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| qwen3_8b | balanced | gsm8k | complete | 50 | accuracy | 0.880 | 1234.5 | 812.2 | 0 |",
        "| qwen3_8b | balanced | hellaswag | failed | 50 | n/a | n/a | n/a | n/a | 50 |",
        "",
        "1 of 2 combinations complete.",
    ]
