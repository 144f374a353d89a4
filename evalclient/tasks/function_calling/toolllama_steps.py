r"""ToolLLaMA conversations cut into steps, and a step's Thought / Action / Action Input read back.

A row is one step of ToolBench's evaluation data (`toolllama_G123_dfs_eval`): `{"id": "Step n: <query>",
"conversations": [{"from": "system"|"user"|"assistant"|"function", "value": text}, ...]}`, ending with the
assistant turn to predict (preprocess/preprocess_toolllama_data.py writes each assistant step as
"\nThought: ...\nAction: <name>\nAction Input: <arguments>"). Everything before that turn is the gold
history the model is given: system and user turns as they are, assistant turns as assistant messages,
function results as user messages starting "Function: " (ToolLLaMA's template `tool-llama-single-round`,
toolbench/tool_conversation.py, labels them so; chat APIs have no function role without tool ids).

References: OpenBMB/ToolBench at commit d56fdd89faf8c91fa135090b212bb9057ee5cfc2 (it has no release tags).

- Reading a step: ToolBench's `react_parser` (toolbench/inference/utils.py) cuts the text at the first
  "Thought: ", "Action: " and "\nAction Input: ", exactly so. `parse_step` reads every step written that way
  to the same action and input (the input stripped; ToolBench strips the whole answer first); it is more
  lenient (spaces after the colons optional, blank space around the action and before "Action Input:"
  ignored) and gives None where there is no action, where react_parser returns slices of the wrong text.
  The input is read as a JSON object (`json.loads(strict=False)`, else the text between its first "{" and
  last "}"): ToolBench hands the raw text to its API server, so this reading is this suite's.
- Whether a Finish step gives an answer: `finish_fields` and `Step.gives_answer` follow ToolBench's runner,
  toolbench/inference/Downstream_tasks/rapidapi.py `_step`, which answers status 3 ("successfully giving the
  final answer") exactly when its reading of the input has return_type "give_answer" and a final_answer key:
  `json.loads(input, strict=False)`, else its substring fallback (`"return_type": "give_answer"` /
  `"return_type": "give_up_and_restart"` / the text after `"return_type": "` up to the first `",`, and the
  text after `"final_answer": "`). Where its JSON is not an object ToolBench raises; here no answer is given.
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
GIVE_UP = "give_up_and_restart"
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
        """Finish whose input ToolBench's runner accepts as a final answer: return_type give_answer and a
        final_answer, as `finish_fields` reads the input."""
        if not self.is_finish:
            return False
        fields = finish_fields(self.action_input)
        return fields is not None and fields.get("return_type") == GIVE_ANSWER and "final_answer" in fields


def finish_fields(action_input: str) -> dict[str, Any] | None:
    """A Finish input read as ToolBench's runner reads it (rapidapi.py `_step`, see the module docstring):
    the JSON object, or the fields its substring fallback finds; None for JSON that is not an object."""
    try:
        value = json.loads(action_input, strict=False)
    except (ValueError, RecursionError):
        return _finish_fallback(action_input)
    return value if isinstance(value, dict) else None


def _finish_fallback(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    return_marker, answer_marker = '"return_type": "', '"final_answer": "'
    if return_marker in text:
        for choice in (GIVE_ANSWER, GIVE_UP):
            if f'{return_marker}{choice}"' in text:
                fields["return_type"] = choice
                break
        else:
            start = text.find(return_marker) + len(return_marker)
            fields["return_type"] = text[start : text.find('",')]
    if answer_marker in text:
        fields["final_answer"] = text[text.find(answer_marker) + len(answer_marker) :]
    return fields


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
