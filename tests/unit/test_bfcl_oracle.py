"""evalclient's BFCL checker against BFCL's own `ast_checker` (bfcl-eval 2026.3.23 from PyPI, installed with
--no-deps into a temporary folder): on the ground truth of rows written here and on perturbed answers (wrong
type, missing parameter, extra parameter, swapped parallel order, wrong function, ...), both must give the
same verdict and the same error type. The package's own data, where it ships, is compared the same way.

BFCL's checker imports its model registry (and through it every provider SDK); only `ast_checker.py`, its
two type-converter modules and the small `enums`/`type_mappings` modules are loaded here, from their source
files, with a stub for the registry. Skipped, with the reason, where pip or the network is unavailable.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bfcl_answers import gold_calls, source

from evalclient.tasks.function_calling.bfcl_checker import Language, check_answer, expected_name, language_of
from evalclient.tasks.function_calling.bfcl_data import CATEGORIES, IRRELEVANCE, join_answers, prepare_rows

ROOT = Path(__file__).resolve().parents[2]
WRITTEN = (
    ROOT / "evalclient" / "sim" / "data" / "demo" / "bfcl.jsonl",
    ROOT / "tests" / "fixtures" / "bfcl_cases.jsonl",
)
PACKAGE = "bfcl-eval==2026.3.23"
MODULES = [  # the modules ast_checker needs, in import order (files under the installed package)
    "bfcl_eval.constants.enums",
    "bfcl_eval.constants.type_mappings",
    "bfcl_eval.eval_checker.ast_eval.type_convertor.java_type_converter",
    "bfcl_eval.eval_checker.ast_eval.type_convertor.js_type_converter",
    "bfcl_eval.eval_checker.ast_eval.ast_checker",
]
# two model names for the stubbed registry: one whose tool names cannot hold dots, one prompt-mode model
MODEL = {True: "native", False: "prompt"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bfcl_eval")
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), PACKAGE]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"pip could not install {PACKAGE}: {exc}")
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        pytest.skip(f"pip could not install {PACKAGE}: {lines[-1] if lines else 'no output'}")
    return target


@pytest.fixture(scope="module")
def oracle(installed: Path) -> Iterator[types.ModuleType]:
    """BFCL's ast_checker module, loaded from source with stub packages, out of sys.modules afterwards."""
    registry = {name: types.SimpleNamespace(underscore_to_dot=dots) for dots, name in MODEL.items()}
    stubs = {
        "bfcl_eval": _package("bfcl_eval"),
        "bfcl_eval.constants": _package("bfcl_eval.constants"),
        "bfcl_eval.constants.model_config": types.SimpleNamespace(MODEL_CONFIG_MAPPING=registry),
        "bfcl_eval.eval_checker": _package("bfcl_eval.eval_checker"),
        "bfcl_eval.eval_checker.ast_eval": _package("bfcl_eval.eval_checker.ast_eval"),
        "bfcl_eval.eval_checker.ast_eval.type_convertor": _package(
            "bfcl_eval.eval_checker.ast_eval.type_convertor"
        ),
    }
    saved = {name: sys.modules.get(name) for name in [*stubs, *MODULES]}
    sys.modules.update(stubs)  # type: ignore[arg-type]
    try:
        for name in MODULES:
            spec = importlib.util.spec_from_file_location(name, installed / f"{name.replace('.', '/')}.py")
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        yield sys.modules["bfcl_eval.eval_checker.ast_eval.ast_checker"]
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _package(name: str) -> types.ModuleType:
    package = types.ModuleType(name)
    package.__path__ = []
    return package


def _rows(paths: tuple[Path, ...]) -> list[dict[str, Any]]:
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    return [r for r in prepare_rows(rows) if r["category"] != IRRELEVANCE]


def decoded_gold(row: dict[str, Any], native: bool) -> list[dict[str, Any]]:
    """The gold calls as a decoded answer: Python values, or Java/JS source strings."""
    language = language_of(row["category"])
    calls = []
    for name, arguments in gold_calls(row):
        if language is not Language.PYTHON:
            specs = next(f for f in row["function"] if f["name"] == name)["parameters"]["properties"]
            arguments = {k: source(v, specs[k], language, quoted=False) for k, v in arguments.items()}
        calls.append({expected_name(name, native): arguments})
    return calls


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    return "not a collection"


def perturbed(row: dict[str, Any], calls: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(what was changed, the answer): the gold answer and answers that break one rule each."""
    yield "ground truth", calls
    name = next(iter(calls[0]))
    arguments = calls[0][name]
    for key, value in arguments.items():
        changed = copy.deepcopy(calls)
        changed[0][name][key] = _other_type(value)
        yield f"wrong type of {key}", changed
        changed = copy.deepcopy(calls)
        del changed[0][name][key]
        yield f"missing {key}", changed
        if isinstance(value, str):
            changed = copy.deepcopy(calls)
            changed[0][name][key] = f" {value.upper()}."
            yield f"{key} in other case and punctuation", changed
            changed = copy.deepcopy(calls)
            changed[0][name][key] = value + "x"
            yield f"{key} altered", changed
        if isinstance(value, int) and not isinstance(value, bool):
            changed = copy.deepcopy(calls)
            changed[0][name][key] = float(value)
            yield f"{key} as a float", changed
        if isinstance(value, float):
            changed = copy.deepcopy(calls)
            changed[0][name][key] = int(value)
            yield f"{key} as an int", changed
        if isinstance(value, list) and value:
            changed = copy.deepcopy(calls)
            changed[0][name][key] = [_other_type(value[0]), *value[1:]]
            yield f"an element of {key} of another type", changed
        if isinstance(value, list) and len(value) > 1:
            changed = copy.deepcopy(calls)
            changed[0][name][key] = list(reversed(value))
            yield f"{key} reversed", changed
            changed = copy.deepcopy(calls)
            changed[0][name][key] = value[:-1]
            yield f"{key} one element short", changed
    changed = copy.deepcopy(calls)
    changed[0][name]["unexpected"] = "1"
    yield "extra parameter", changed
    yield "wrong function", [{"no_such_function": arguments}, *copy.deepcopy(calls[1:])]
    yield "one call too many", copy.deepcopy(calls) + copy.deepcopy(calls[:1])
    if len(calls) > 1:
        yield "swapped order", list(reversed(copy.deepcopy(calls)))
        yield "a call missing", copy.deepcopy(calls[:-1])


def compare(oracle: types.ModuleType, rows: list[dict[str, Any]]) -> tuple[Counter[str], list[str]]:
    """(BFCL's verdicts counted by error type, "valid" for a pass; disagreements) over both name
    conventions and every perturbation."""
    languages = {
        Language.PYTHON: oracle.Language.PYTHON,
        Language.JAVA: oracle.Language.JAVA,
        Language.JAVASCRIPT: oracle.Language.JAVASCRIPT,
    }
    outcomes: Counter[str] = Counter()
    disagreements = []
    for row in rows:
        language = languages[language_of(row["category"])]
        for native in (False, True):
            for change, answer in perturbed(row, decoded_gold(row, native)):
                theirs = oracle.ast_checker(
                    copy.deepcopy(row["function"]),
                    copy.deepcopy(answer),
                    copy.deepcopy(row["ground_truth"]),
                    language,
                    row["category"],
                    MODEL[native],
                )
                mine = check_answer(
                    row["category"],
                    row["function"],
                    copy.deepcopy(answer),
                    row["ground_truth"],
                    underscores=native,
                )
                expected = (theirs["valid"], None if theirs["valid"] else theirs["error_type"])
                outcomes[expected[1] or "valid"] += 1
                if (mine.valid, mine.error_type) != expected:
                    disagreements.append(
                        f"{row['id']} native={native} {change}: BFCL {expected}, evalclient {mine}"
                    )
    return outcomes, disagreements


def test_the_checker_agrees_with_bfcl_on_written_rows(oracle: types.ModuleType) -> None:
    rows = _rows(WRITTEN)
    assert {r["category"] for r in rows} == set(CATEGORIES) - {IRRELEVANCE}
    outcomes, disagreements = compare(oracle, rows)
    assert disagreements == []
    assert sum(outcomes.values()) == 530
    assert outcomes == {  # what BFCL (and evalclient) said about the 530 answers
        "valid": 116,
        "type_error:simple": 88,
        "type_error:nested": 8,
        "type_error:java": 18,
        "type_error:js": 18,
        "simple_function_checker:missing_required": 58,
        "simple_function_checker:missing_optional": 4,
        "simple_function_checker:unexpected_param": 24,
        "simple_function_checker:wrong_func_name": 24,
        "simple_function_checker:wrong_count": 20,
        "multiple_function_checker:wrong_count": 4,
        "parallel_function_checker_no_order:cannot_find_match": 72,
        "parallel_function_checker_no_order:wrong_count": 16,
        "value_error:string": 22,
        "value_error:list/tuple": 18,
        "value_error:dict_key": 2,
        "value_error:dict_value": 2,
        "value_error:list_dict_count": 2,
        "value_error:others": 14,
    }


def test_the_checker_agrees_with_bfcl_on_its_shipped_data(oracle: types.ModuleType, installed: Path) -> None:
    data = installed / "bfcl_eval" / "data"
    rows: list[dict[str, Any]] = []
    for category in CATEGORIES:
        if category == IRRELEVANCE:
            continue
        questions = [json.loads(x) for x in (data / f"BFCL_v4_{category}.json").read_text().splitlines() if x]
        answers = (data / "possible_answer" / f"BFCL_v4_{category}.json").read_text().splitlines()
        by_id = {row["id"]: row["ground_truth"] for row in map(json.loads, filter(None, answers))}
        rows += join_answers(questions, by_id, category)
    assert len(rows) == 1150
    outcomes, disagreements = compare(oracle, prepare_rows(rows))
    assert disagreements == []
    assert (sum(outcomes.values()), outcomes["valid"]) == (33_706, 7_312)
