"""Scripted answers of the simulator: rule order, the model filter, defaults and bad rules files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalclient.sim.rules import RulesError, fallback_answer, load_rules, parse_rules

RULES = """
default: "no idea"
rules:
  - match: "capital of France"
    model: "Qwen3"
    response: "Paris, says Qwen3."
  - name: any-model
    match: "capital of France"
    response: "Paris."
  - match: "first line.*second line"
    response: "spans lines"
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def test_first_matching_rule_wins_and_model_filter_applies(rules_file: Path) -> None:
    rules = load_rules(rules_file)
    assert len(rules.rules) == 3
    assert rules.answer("What is the capital of France?", "Qwen/Qwen3-8B") == "Paris, says Qwen3."
    assert rules.answer("What is the capital of France?", "Qwen/Qwen2.5-7B-Instruct") == "Paris."


def test_match_uses_dotall_search(rules_file: Path) -> None:
    rules = load_rules(rules_file)
    assert rules.answer("intro\nfirst line\nmiddle\nsecond line", "m") == "spans lines"


def test_default_answer_when_nothing_matches(rules_file: Path) -> None:
    assert load_rules(rules_file).answer("unrelated", "m") == "no idea"


def test_fallback_is_deterministic_and_numeric() -> None:
    rules = parse_rules({"rules": []})
    first = rules.answer("What is 6 times 7?", "m")
    assert first == rules.answer("What is 6 times 7?", "m") == fallback_answer("What is 6 times 7?")
    assert re.search(r"The answer is \d+\.$|the answer is \d+\.$", first)
    answers = {fallback_answer(f"question {i}") for i in range(20)}
    assert len(answers) > 5


def test_empty_file_means_no_rules(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_rules(path).rules == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("rules: {a: 1}\n", "`rules` must be a list"),
        ("rules:\n  - response: x\n", r"rules\[0\]: `match` is required"),
        (
            "rules:\n  - match: x\n    response: 3\n",
            r"rules\[0\]: `response` is required and must be a string",
        ),
        ("rules:\n  - match: '('\n    response: x\n", r"rules\[0\]\.match: invalid regex"),
        ("rules:\n  - match: x\n    response: y\n    model: '['\n", r"rules\[0\]\.model: invalid regex"),
        ("rules:\n  - match: x\n    respones: y\n", "unknown key"),
        ("rulez: []\n", "unknown top-level key"),
        ("default: 5\n", "`default` must be a string"),
    ],
)
def test_bad_rules_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message) as info:
        load_rules(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")


def test_packaged_demo_rules_load_when_present() -> None:
    from evalclient.sim.cli import DEFAULT_RULES, load_rules_arg

    if not DEFAULT_RULES.is_file():
        pytest.skip("demo_rules.yaml is not packaged yet")
    rules = load_rules_arg(None)
    assert rules.source == str(DEFAULT_RULES)
    assert rules.rules
    assert load_rules_arg("").rules == ()
