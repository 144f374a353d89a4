"""Answers decoded into BFCL's call lists `[{function name: {parameter: value}}]`.

- prompt mode, Python (BFCL's default decoding): the answer stripped of backticks, newlines and spaces at its
  ends, wrapped in `[...]` where it lacks them, parsed with Python's `ast`; each element must be a call
  (`a.b.c(...)` named with dots), keyword arguments only (positional ones are dropped). Values: literals,
  negated literals, lists, tuples, dicts, names (as their text), calls (as their source text, or a nested
  call where they have keyword arguments), subscripts (as text) and arithmetic on literals. BFCL evaluates
  arithmetic with Python's `eval`; here only literals are evaluated (no names, calls or huge powers).
- prompt mode, Java and JavaScript: the first call `name(param=value, ...)` inside the brackets, each value
  its source text, a string literal's quotes removed (BFCL reads these with tree-sitter; this small reader
  keeps each value's text as written).
- native mode: the completion's tool calls (the server's, or Qwen's `<tool_call>` markup in the text), each
  `{name: arguments}`; arguments that are not JSON fail the decoding.

`well_formed` is BFCL's format check (a list of one-key dicts whose value is a dict); `has_calls` is false
for what BFCL's irrelevance check counts as no call.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from evalclient.client.completion import ToolCall
from evalclient.client.tool_calls import text_tool_calls
from evalclient.tasks.function_calling.bfcl_checker import Language

Decoded = list[Any]
_NAME = re.compile(r"\s*([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*\(")
_KEYWORD = re.compile(r"\s*([A-Za-z_$][\w$]*)\s*=(?!=)")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_MAX_POWER = 1000
_MAX_SIZE = 100_000


class DecodeError(ValueError):
    """The answer cannot be read as function calls (BFCL: `ast_decoder:decoder_failed`)."""


def bracketed(answer: str) -> str:
    """BFCL's preparation of a prompt-mode answer: ends stripped of "`", newlines and spaces, then `[...]`."""
    text = answer.strip("`\n ")
    if not text.startswith("["):
        text = "[" + text
    if not text.endswith("]"):
        text = text + "]"
    return text


def decode_prompt_answer(answer: str, language: Language) -> Decoded:
    """A prompt-mode answer's calls, read as the row's language is."""
    if language is Language.PYTHON:
        return decode_python(answer)
    return decode_source_call(answer, language)


def decode_python(answer: str) -> Decoded:
    """Python calls in a list: `[f(a=1), g.h(b="x")]`."""
    source = bracketed(answer).strip().strip("'")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise DecodeError(f"not Python: {exc}") from None
    body = tree.body
    if isinstance(body, ast.Call):
        return [_call(body)]
    elements = getattr(body, "elts", None)
    if elements is None:
        raise DecodeError("the answer is not a list of calls")
    for element in elements:
        if not isinstance(element, ast.Call):
            raise DecodeError(f"{ast.unparse(element)[:80]} is not a function call")
    return [_call(e) for e in elements]


def _call(node: ast.Call) -> dict[str, Any]:
    parts: list[str] = []
    target = node.func
    while isinstance(target, ast.Attribute):
        parts.append(target.attr)
        target = target.value
    if isinstance(target, ast.Name):
        parts.append(target.id)
    arguments = {keyword.arg: _value(keyword.value) for keyword in node.keywords}
    return {".".join(reversed(parts)): arguments}


def _value(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.operand, ast.Constant):
            raise DecodeError(f"unsupported expression {ast.unparse(node)[:80]}")
        operand: Any = node.operand.value
        try:
            return -operand  # BFCL negates the operand whatever the operator
        except TypeError:
            raise DecodeError(f"cannot negate {ast.unparse(node.operand)[:80]}") from None
    if isinstance(node, ast.List):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_value(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        try:
            return {_value(k): _value(v) for k, v in zip(node.keys, node.values, strict=True)}
        except TypeError:
            raise DecodeError("a dict key that cannot be a key") from None
    if isinstance(node, ast.BinOp):
        return _arithmetic(node)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return _call(node) if node.keywords else ast.unparse(node)
    if isinstance(node, ast.Subscript):
        return f"{ast.unparse(node.value)}[{ast.unparse(node.slice)}]"
    kind = "nothing" if node is None else type(node).__name__
    raise DecodeError(f"unsupported value: {kind}")


def _arithmetic(node: ast.expr) -> Any:
    """Arithmetic on literals (and lists or tuples of them), bounded in size."""
    if isinstance(node, ast.Constant) and not isinstance(node.value, bytes):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _arithmetic(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.List | ast.Tuple):
        items = [_arithmetic(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _arithmetic(node.left), _arithmetic(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(right, int | float) and abs(right) > _MAX_POWER:
            raise DecodeError("a power too large to evaluate")
        if isinstance(node.op, ast.Mult) and isinstance(right, int) and abs(right) > _MAX_SIZE:
            raise DecodeError("a product too large to evaluate")
        try:
            result = _ARITHMETIC[type(node.op)](left, right)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise DecodeError(f"cannot evaluate {ast.unparse(node)[:80]}: {exc}") from None
        if isinstance(result, str | list | tuple) and len(result) > _MAX_SIZE:
            raise DecodeError("a value too large to evaluate")
        return result
    raise DecodeError(f"cannot evaluate {ast.unparse(node)[:80]}")


def decode_source_call(answer: str, language: Language) -> Decoded:
    """The first Java or JavaScript call `name(param=value, ...)` in the answer, values as source text."""
    inner = bracketed(answer)[1:-1]
    head = _NAME.match(inner)
    if head is None:
        raise DecodeError(f"no {language} function call found")
    name = re.sub(r"\s+", "", head.group(1))
    end = _closing(inner, head.end() - 1)
    rest = inner[end + 1 :].strip()
    if rest not in ("", ";"):
        raise DecodeError(f"unexpected text after the {language} call: {rest[:80]}")
    arguments: dict[str, Any] = {}
    for piece in _arguments(inner[head.end() : end]):
        keyword = _KEYWORD.match(piece)
        if keyword is None:
            continue  # positional: dropped, as BFCL drops Python's
        if keyword.group(1) in arguments:
            raise DecodeError(f"argument {keyword.group(1)!r} given twice")
        arguments[keyword.group(1)] = _source_value(piece[keyword.end() :].strip())
    return [{name: arguments}]


def _source_value(text: str) -> str:
    """An argument's source text, a string (or Java char) literal's quotes removed."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in ('"', "'"):
        return text[1:-1]
    return text


def _closing(text: str, start: int) -> int:
    """The index of the bracket closing the one at `start`, skipping quoted text."""
    stack: list[str] = []
    index = start
    while index < len(text):
        char = text[index]
        if char in "\"'`":
            index = _string_end(text, index)
        elif char in _OPENERS:
            stack.append(_OPENERS[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return index
        elif char in ")]}":
            raise DecodeError("unbalanced brackets")
        index += 1
    raise DecodeError("the call is not closed")


def _string_end(text: str, start: int) -> int:
    quote, index = text[start], start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index
        index += 1
    raise DecodeError("a string is not closed")


def _arguments(text: str) -> list[str]:
    """The argument list split at commas outside brackets and strings that start a new `name=` argument."""
    pieces: list[str] = []
    depth, start, index = 0, 0, 0
    while index < len(text):
        char = text[index]
        if char in "\"'`":
            index = _string_end(text, index)
        elif char in _OPENERS:
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0 and _KEYWORD.match(text, index + 1):
            pieces.append(text[start:index])
            start = index + 1
        index += 1
    if text[start:].strip():
        pieces.append(text[start:])
    return pieces


def decode_tool_calls(calls: Sequence[ToolCall], text: str) -> Decoded:
    """Native-mode calls: the completion's tool calls, else Qwen's `<tool_call>` markup in its text."""
    found = list(calls) or text_tool_calls(text)
    if not found:
        raise DecodeError("the answer has no tool call")
    for call in found:
        if call.parse_error is not None:
            raise DecodeError(f"tool call {call.name or '?'}: {call.parse_error}")
    return [{call.name: call.arguments} for call in found]


def well_formed(decoded: Any) -> bool:
    """BFCL's format check: a list of one-key dicts, each mapping a name to its arguments dict."""
    if type(decoded) is not list:
        return False
    return all(type(c) is dict and len(c) == 1 and type(next(iter(c.values()))) is dict for c in decoded)


def has_calls(decoded: Any) -> bool:
    """Whether a decoded answer makes a call (BFCL's irrelevance check: [], [{}] or a malformed list
    make none)."""
    if not well_formed(decoded) or not decoded:
        return False
    return not (len(decoded) == 1 and not decoded[0])
