"""BFCL's rows: one per question of a non-live category, with its category and its possible answer joined in.

Schema (a local `bfcl.jsonl|json|parquet` holds these rows; the hub's question rows plus two fields):
    {"id": "simple_python_0",
     "question": [[{"role": "user", "content": "..."}]],       one turn of chat messages
     "function": [{"name": ..., "description": ..., "parameters": {"type": "dict", "properties": {...},
                   "required": [...]}}],
     "ground_truth": [{"<function name>": {"<param>": [allowed values]}}],   [] (or absent) for irrelevance
     "category": "simple_python"}                              optional: taken from the id's prefix

Categories, by BFCL v4's names: simple_python, simple_java, simple_javascript, multiple, parallel,
parallel_multiple, irrelevance. v3's names (simple, java, javascript; ids `simple_0`, `java_0`, ...) are read
as the v4 ones; a `question` holding one turn's messages without the list of turns (BFCL v1/v2) is read
as one turn. From the hub, the pinned revision's v3 files are read for each category: `BFCL_v3_<name>.json`
with `possible_answer/BFCL_v3_<name>.json` (irrelevance has no answer file), both JSON Lines, joined by id.
These are the names of BFCL v3's files in ShishirPatil/gorilla; that the hub copy at the pin holds all of
them is not verified offline (only BFCL_v3_simple.json was seen there). The files are downloaded through
`huggingface_hub` (the `datasets` library's hub client): `datasets` cannot load them as tables, their
values mixing types from row to row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource
from evalclient.tasks.hub import HubStore
from evalclient.tasks.loading import load_file_rows

CATEGORIES = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
)
IRRELEVANCE = "irrelevance"
_V3_NAMES = {"simple": "simple_python", "java": "simple_java", "javascript": "simple_javascript"}
_HUB_NAMES = {v4: v3 for v3, v4 in _V3_NAMES.items()}
ROWS = {
    "simple_python": 400,
    "simple_java": 100,
    "simple_javascript": 50,
    "multiple": 200,
    "parallel": 200,
    "parallel_multiple": 200,
    "irrelevance": 240,
}
"""Questions per category in BFCL v3 (its README's dataset composition; simple 400, multiple 200 and
irrelevance 240 also counted in the files at the pin by a harness that reads them)."""


def question_file(category: str) -> str:
    return f"BFCL_v3_{_HUB_NAMES.get(category, category)}.json"


def answer_file(category: str) -> str:
    return f"possible_answer/{question_file(category)}"


SOURCE = HubSource(
    "gorilla-llm/Berkeley-Function-Calling-Leaderboard",
    None,
    "train",
    "61fc0608cfd831fcfbbaa676ebdfef0ed963eeda",
    files=(
        (
            "train",
            tuple(
                name
                for category in CATEGORIES
                for name in (
                    question_file(category),
                    *(() if category == IRRELEVANCE else (answer_file(category),)),
                )
            ),
        ),
    ),
    rows=(("train", sum(ROWS.values())),),
    cited="the pin of a BFCL adapter used with bfcl-eval 2025.12.17 (olmo_eval); it holds BFCL v3's files",
)
"""The non-live categories' question and possible-answer files: JSON Lines under a .json name."""
_ID_SUFFIX = re.compile(r"_\d+$")
SCHEMA_HINT = (
    "bfcl rows: id, question, function, ground_truth (see evalclient/tasks/function_calling/bfcl_data.py)"
)


def category_name(name: str) -> str:
    """A category by its v4 name (v3's simple/java/javascript renamed); DatasetError if not non-live."""
    category = _V3_NAMES.get(name, name)
    if category not in CATEGORIES:
        raise DatasetError(f"bfcl category {name!r} is not one of {', '.join(CATEGORIES)}", SCHEMA_HINT)
    return category


def category_of(row_id: str) -> str:
    """The category a BFCL id names: its prefix before `_<number>`."""
    return category_name(_ID_SUFFIX.sub("", row_id))


def prepare_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its `category`, checked: one question turn, functions, and possible answers for every
    category but irrelevance."""
    return [_prepared(row) for row in rows]


def _prepared(row: Mapping[str, Any]) -> dict[str, Any]:
    row_id = str(row["id"])
    category = category_name(str(row["category"])) if row.get("category") else category_of(row_id)
    question = row["question"]
    if _messages(question):  # BFCL v1/v2 wrote one turn's messages without the list of turns
        question = [question]
    if not (isinstance(question, list) and len(question) == 1 and _messages(question[0])):
        raise DatasetError(f"bfcl row {row_id}: `question` must hold one turn of chat messages", SCHEMA_HINT)
    functions = row["function"]
    if not isinstance(functions, list) or not all(isinstance(f, dict) and "name" in f for f in functions):
        raise DatasetError(f"bfcl row {row_id}: `function` must be a list of named functions", SCHEMA_HINT)
    answer = row.get("ground_truth") or []
    if category != IRRELEVANCE and not _possible_answer(answer):
        raise DatasetError(
            f"bfcl row {row_id}: `ground_truth` must be a list of {{function: {{param: [values]}}}}",
            SCHEMA_HINT,
        )
    return {**row, "question": question, "category": category, "ground_truth": answer}


def _messages(turn: Any) -> bool:
    return isinstance(turn, list) and bool(turn) and all(isinstance(m, dict) and "role" in m for m in turn)


def _possible_answer(answer: Any) -> bool:
    if not isinstance(answer, list) or not answer:
        return False
    return all(
        isinstance(call, dict) and len(call) == 1 and isinstance(next(iter(call.values())), dict)
        for call in answer
    )


def hub_rows(store: HubStore) -> list[dict[str, Any]]:
    """Every non-live category's questions at the pinned revision, each joined with its possible answer."""
    rows: list[dict[str, Any]] = []
    for category in CATEGORIES:
        questions = _hub_file(question_file(category), store)
        if len(questions) != ROWS[category]:
            raise DatasetError(
                f"bfcl: {question_file(category)} holds {len(questions)} questions; BFCL v3 has "
                f"{ROWS[category]} {category} questions",
                "the hub files are not the ones this evalclient pins",
            )
        answers = {} if category == IRRELEVANCE else _by_id(_hub_file(answer_file(category), store))
        rows.extend(join_answers(questions, answers, category))
    return rows


def join_answers(
    questions: Sequence[Mapping[str, Any]], answers: Mapping[str, Any], category: str
) -> list[dict[str, Any]]:
    """Question rows with their category and ground truth (by id; irrelevance rows have none)."""
    joined = []
    for question in questions:
        row_id = str(question.get("id"))
        if category != IRRELEVANCE and row_id not in answers:
            raise DatasetError(
                f"bfcl: question {row_id} has no possible answer in the hub files", SCHEMA_HINT
            )
        joined.append({**question, "category": category, "ground_truth": answers.get(row_id, [])})
    return joined


def _by_id(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(row.get("id")): row.get("ground_truth") for row in rows}


def _hub_file(filename: str, store: HubStore) -> list[dict[str, Any]]:
    return load_file_rows(store.file("bfcl", SOURCE.path, SOURCE.revision, filename))
