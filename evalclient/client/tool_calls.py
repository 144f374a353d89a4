"""Tool calls: assembled from streamed deltas, read from a whole message, or parsed from Qwen's markup.

OpenAI streams send `delta.tool_calls[i]` with an `index`, the `id` and `function.name` once, and the
`function.arguments` JSON in pieces. Engines that do not parse tool calls leave Qwen's
`<tool_call>{"name": …, "arguments": {…}}</tool_call>` in the content; those are read from the text.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from evalclient.client.completion import ToolCall

_QWEN_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


class MalformedToolCall(ValueError):
    """A tool-call delta or message that is not shaped as the OpenAI protocol says."""


@dataclass(slots=True)
class _Pending:
    id: str | None = None
    name: str = ""
    pieces: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Collects streamed tool-call deltas by index; `calls()` gives them in index order."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}

    def add(self, deltas: Any) -> None:
        """Take one chunk's `delta.tool_calls` list (TGI <= 3.1 sent one object, not a list)."""
        if isinstance(deltas, dict):
            deltas = [deltas]
        if not isinstance(deltas, list):
            raise MalformedToolCall(f"delta.tool_calls is {type(deltas).__name__}, not a list")
        for position, delta in enumerate(deltas):
            if not isinstance(delta, dict):
                raise MalformedToolCall(f"tool-call delta {position} is not an object")
            index = delta.get("index", position)
            pending = self._pending.setdefault(index if isinstance(index, int) else position, _Pending())
            if isinstance(delta.get("id"), str) and delta["id"]:
                pending.id = delta["id"]
            function = delta.get("function") or {}
            if not isinstance(function, dict):
                raise MalformedToolCall("tool-call delta's function is not an object")
            if isinstance(function.get("name"), str):
                pending.name += function["name"]
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                pending.pieces.append(arguments)
            elif arguments is not None:  # some servers send the object itself
                pending.pieces.append(json.dumps(arguments))

    def calls(self) -> list[ToolCall]:
        return [_call(p.name, "".join(p.pieces), p.id) for _, p in sorted(self._pending.items())]


def message_tool_calls(message: dict[str, Any]) -> list[ToolCall]:
    """The tool calls of a non-streamed assistant message (`arguments` as a JSON string or an object)."""
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise MalformedToolCall("message.tool_calls is not a list")
    assembler = ToolCallAssembler()
    assembler.add([{**c, "index": i} if isinstance(c, dict) else c for i, c in enumerate(calls)])
    return assembler.calls()


def text_tool_calls(text: str) -> list[ToolCall]:
    """Qwen's `<tool_call>` blocks in the content, in order; a block that is not JSON is kept, unparsed."""
    found: list[ToolCall] = []
    for body in _QWEN_CALL.findall(text):
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            found.append(ToolCall("", body, None, source="text", parse_error=f"not JSON: {exc.msg}"))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            found.append(ToolCall("", body, None, source="text", parse_error="no function name"))
            continue
        arguments = data.get("arguments", data.get("parameters", {}))
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        found.append(_call(data["name"], raw, None, source="text"))
    return found


def parsed_tool_call(name: str, arguments: Any, call_id: str | None = None, source: str = "api") -> ToolCall:
    """A call from its name and arguments given as a JSON string or as the object itself."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return _call(name, raw, call_id, source)


def _call(name: str, raw: str, call_id: str | None, source: str = "api") -> ToolCall:
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        return ToolCall(name, raw, None, call_id, source, f"arguments are not JSON: {exc.msg}")
    if isinstance(parsed, str):  # arguments JSON-encoded twice
        with contextlib.suppress(json.JSONDecodeError):
            parsed = json.loads(parsed)
    legacy = parsed.get("function") if isinstance(parsed, dict) and not name else None
    if isinstance(legacy, dict) and isinstance(legacy.get("_name"), str):  # TGI <= 3.1's grammar output
        name = legacy["_name"]
        parsed = {k: v for k, v in legacy.items() if k != "_name"}
    return ToolCall(name, raw, parsed, call_id, source)
