"""`evalclient score`: stored answers scored offline, the same way a run scores them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _score(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "evalclient", "score", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def _offline_env(**extra: str) -> dict[str, str]:
    """No hub, programs in the subprocess sandbox (the docker tier tests the container sandbox)."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "EVALCLIENT_SANDBOX": "subprocess", **extra}


def test_scores_predictions_against_a_data_file(tmp_path: Path, fixtures_dir: Path) -> None:
    rows = [json.loads(line) for line in (fixtures_dir / "arc_challenge.jsonl").read_text().splitlines()]
    predictions = tmp_path / "p.jsonl"
    lines = [{"id": rows[0]["id"], "response": f"The answer is {rows[0]['answerKey']}"},
             {"id": rows[1]["id"], "response": "I cannot tell"}]  # fmt: skip
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _score("--dataset", "arc_challenge", "--predictions", str(predictions),
                    "--data-file", str(fixtures_dir / "arc_challenge.jsonl"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["num_samples"] == 2
    assert metrics["accuracy"] == 0.5
    assert metrics["num_failed_parse"] == 1


def test_gsm8k_ids_are_row_indices(tmp_path: Path, fixtures_dir: Path) -> None:
    rows = [json.loads(line) for line in (fixtures_dir / "gsm8k.jsonl").read_text().splitlines()]
    gold = rows[3]["answer"].split("####")[-1].strip()
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "3", "response": f"work...\n#### {gold}"}) + "\n")
    result = _score("--dataset", "gsm8k", "--predictions", str(predictions),
                    "--data-file", str(fixtures_dir / "gsm8k.jsonl"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert (metrics["exact_match_strict"], metrics["exact_match_flexible"], metrics["accuracy"]) == (
        1.0,
        1.0,
        1.0,
    )


def test_verdicts_are_written_per_sample(tmp_path: Path, fixtures_dir: Path) -> None:
    rows = [json.loads(line) for line in (fixtures_dir / "gsm8k.jsonl").read_text().splitlines()]
    gold = rows[0]["answer"].split("####")[-1].strip()
    predictions, verdicts = tmp_path / "p.jsonl", tmp_path / "v.jsonl"
    lines = [{"id": "0", "response": f"#### {gold}.00"}, {"id": "1", "response": "no idea"}]
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _score("--dataset", "gsm8k", "--predictions", str(predictions),
                    "--data-file", str(fixtures_dir / "gsm8k.jsonl"), "--output", str(verdicts))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accuracy"] == 0.0  # lm-eval: "21.00" is not "21"
    written = [json.loads(line) for line in verdicts.read_text().splitlines()]
    assert [v["id"] for v in written] == ["0", "1"]
    assert (written[0]["flexible"], written[0]["exact_match_numeric"], written[0]["correct"]) == (
        f"{gold}.00",
        True,
        False,
    )
    assert (written[1]["flexible"], written[1]["parsed"]) == ("[invalid]", False)
    assert "2 verdicts written" in result.stderr


def test_unknown_ids_and_bad_lines_are_one_line_errors(tmp_path: Path, fixtures_dir: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "9999", "response": "1"}) + "\n")
    result = _score("--dataset", "gsm8k", "--predictions", str(predictions),
                    "--data-file", str(fixtures_dir / "gsm8k.jsonl"))  # fmt: skip
    assert result.returncode == 2
    assert "1 id(s) are not in gsm8k, e.g. 9999" in result.stderr
    predictions.write_text("{not json\n")
    result = _score("--dataset", "gsm8k", "--predictions", str(predictions),
                    "--data-file", str(fixtures_dir / "gsm8k.jsonl"))  # fmt: skip
    assert result.returncode == 2
    assert "line 1 is not JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_loglikelihood_predictions_score_offline_as_a_run_would(tmp_path: Path, fixtures_dir: Path) -> None:
    """A predictions file of stored log-likelihood completions (evalclient's own) is scored in that mode."""
    lines = []
    for index in range(2):  # hellaswag rows 0 (gold 0) and 1 (gold 1): the first row right, the second wrong
        best = 0
        completions = [
            {
                "request_id": f"{index}#{j}",
                "kind": "loglikelihood",
                "loglikelihood": -0.5 if j == best else -4.0,
            }
            for j in range(4)
        ]
        lines.append({"id": str(index), "response": None, "completions": completions})
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _score("--dataset", "hellaswag", "--predictions", str(predictions),
                    "--data-file", str(fixtures_dir / "hellaswag.jsonl"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert (metrics["mode"], metrics["acc"], metrics["acc_norm"], metrics["num_samples"]) == (
        "loglikelihood",
        0.5,
        0.5,
        2,
    )


def test_mbpp_is_scored_offline_by_running_the_code(tmp_path: Path, fixtures_dir: Path) -> None:
    rows = [json.loads(line) for line in (fixtures_dir / "mbpp.jsonl").read_text().splitlines()]
    token = "tok-score-0a9b8c7d"
    lines = [
        {"id": "901", "response": f"Sure:\n```python\n{rows[0]['code']}\n```"},
        {"id": "902", "response": "```python\ndef distance(a, b):\n    return 0.0\n```"},
        {"id": "903", "response": "import os\nprint(os.environ.get('SCORE_TOKEN'))\nraise SystemExit(0)"},
    ]
    predictions, verdicts = tmp_path / "p.jsonl", tmp_path / "v.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = _offline_env(SCORE_TOKEN=token)
    result = _score("--dataset", "mbpp", "--predictions", str(predictions), "--output", str(verdicts),
                    "--data-file", str(fixtures_dir / "mbpp.jsonl"), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["pass@1"] == 1 / 3
    assert metrics["code_execution_success_rate"] == 2 / 3
    assert metrics["execution_statuses"] == {"exited": 1, "failed": 1, "passed": 1}
    assert metrics["sandbox"] == "subprocess (weaker isolation)"
    assert "programs ran in the code sandbox: subprocess (weaker isolation)" in result.stderr
    written = [json.loads(line) for line in verdicts.read_text().splitlines()]
    assert [(v["id"], v["correct"], v["statuses"]) for v in written] == [
        ("901", True, ["passed"]),
        ("902", False, ["failed"]),
        ("903", False, ["exited"]),
    ]
    assert token not in verdicts.read_text() + result.stdout + result.stderr


def test_humaneval_is_scored_offline_from_the_packaged_problems(tmp_path: Path) -> None:
    from evalclient.tasks.humaneval import package_rows

    rows = {row["task_id"]: row for row in package_rows()}
    solved = rows["HumanEval/2"]
    lines = [
        {"id": "HumanEval/2", "response": f"```python\n{solved['prompt']}{solved['canonical_solution']}```"},
        {"id": "HumanEval/3", "response": "```python\n    return True\n```"},
    ]
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _score("--dataset", "humaneval", "--predictions", str(predictions), env=_offline_env())
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert (metrics["num_samples"], metrics["pass@1"], metrics["code_execution_success_rate"]) == (
        2,
        0.5,
        1.0,
    )
