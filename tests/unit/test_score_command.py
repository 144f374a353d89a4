"""`evalclient score`: stored answers scored offline, the same way a run scores them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _score(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "evalclient", "score", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


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
