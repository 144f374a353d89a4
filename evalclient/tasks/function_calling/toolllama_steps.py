"""ToolLLaMA conversations cut into steps, and a step's Thought / Action / Action Input read back.

A row is one step of ToolBench's evaluation data (`toolllama_G123_dfs_eval`): `{"id": "Step n: <query>",
"conversations": [{"from": "system"|"user"|"assistant"|"function", "value": text}, ...]}`, ending with the
assistant turn to predict. Everything before that turn is the gold history the model is given: system and
user turns as they are, assistant turns as assistant messages, function results as user messages starting
"Function: " (ToolLLaMA's own template labels them so; chat APIs have no function role without tool ids).

A step is read with the markers of ToolBench's parser: the action between "Action:" and "Action Input:",
the input after "Action Input:" (spaces after the colons optional), the thought before the action. The
input is read as a JSON object (`json.loads(strict=False)`, else the text between its first "{" and last
"}"). `Finish` ends the trajectory; it gives an answer when its return_type is give_answer and it has a
final_answer (ToolBench's substring fallback applies when the input is not JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalclient.client.requests import Message
from evalclient.errors import DatasetError

FINISH = "Finish"
GIVE_ANSWER = "give_answer"
SCHEMA_HINT = (
    'toolllama rows: {"id", "conversations": [{"from": role, "value": text}, ...]} (ToolBench format)'
)
_ROLES = {"system": "system", "user": "user", "assistant": "assistant", "function": "user"}
_ACTION = re.compile(r"Action:\s*(.*?)\s*\n\s*Action Input:\s?(.*)", re.DOTALL)
_THOUGHT = re.compile(r"Thought:\s?(.*?)\n\s*Action:", re.DOTALL)


@dataclass(frozen=True)
class Step:
    """One assistant step: its action (API name), the raw input, and the input as a JSON object if it is."""

    action: str
    action_input: str
    arguments: dict[str, Any] | None
    thought: str = ""

    @property
    def is_finish(self) -> bool:
        return self.action == FINISH

    @property
    def gives_answer(self) -> bool:
        """Finish with return_type give_answer and a final answer."""
        if not self.is_finish:
            return False
        if self.arguments is not None:
            answer = self.arguments.get("final_answer")
            return (
                self.arguments.get("return_type") == GIVE_ANSWER and isinstance(answer, str) and bool(answer)
            )
        text = self.action_input
        return '"return_type": "give_answer"' in text and '"final_answer": "' in text


def parse_step(text: str) -> Step | None:
    """The step written in `text`, None when it names no action."""
    found = _ACTION.search(text)
    if found is None or not found.group(1):
        return None
    thought = _THOUGHT.search(text)
    action_input = found.group(2).strip()
    return Step(
        found.group(1), action_input, parse_arguments(action_input), thought.group(1) if thought else ""
    )


def parse_arguments(text: str) -> dict[str, Any] | None:
    """An Action Input as a JSON object, None when it is not one."""
    candidates = [text]
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first : last + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def split_row(row: Mapping[str, Any]) -> tuple[tuple[Message, ...], str]:
    """(the gold history as chat messages, the gold assistant step's text)."""
    turns = row.get("conversations")
    row_id = row.get("id")
    if not isinstance(turns, list) or not all(_turn(t) for t in turns):
        raise DatasetError(
            f"toolllama row {row_id}: `conversations` must be a list of {{from, value}}", SCHEMA_HINT
        )
    last = max((i for i, t in enumerate(turns) if t["from"] == "assistant"), default=None)
    if last is None or last == 0:
        raise DatasetError(f"toolllama row {row_id}: no assistant step after the history", SCHEMA_HINT)
    history = tuple(_message(t) for t in turns[:last])
    return history, str(turns[last]["value"])


def gold_step(row: Mapping[str, Any]) -> Step:
    """The step a row asks for; DatasetError when its last assistant turn names no action."""
    _, text = split_row(row)
    step = parse_step(text)
    if step is None:
        raise DatasetError(
            f"toolllama row {row.get('id')}: the last assistant turn names no Action", SCHEMA_HINT
        )
    return step


def check_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows unchanged, each checked to hold a history and a gold step."""
    for row in rows:
        gold_step(row)
    return rows


def _turn(turn: Any) -> bool:
    return isinstance(turn, dict) and turn.get("from") in _ROLES and isinstance(turn.get("value"), str)


def _message(turn: Mapping[str, Any]) -> Message:
    text = str(turn["value"])
    if turn["from"] == "function":
        text = f"Function: {text}"
    return {"role": _ROLES[str(turn["from"])], "content": text}


def key_f1(predicted: Sequence[str], gold: Sequence[str]) -> float:
    """F1 of two argument-key sets (1.0 when both are empty)."""
    mine, theirs = set(predicted), set(gold)
    if not mine and not theirs:
        return 1.0
    common = len(mine & theirs)
    if not common:
        return 0.0
    precision, recall = common / len(mine), common / len(theirs)
    return 2 * precision * recall / (precision + recall)
