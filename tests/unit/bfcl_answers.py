"""Answers to BFCL rows built from their possible answers: the calls a perfect model makes, as native tool
calls (JSON arguments; Java and JavaScript values as source strings) or as prompt-mode text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from evalclient.tasks.function_calling.bfcl_checker import Language, expected_name, language_of


def first_allowed(values: Any) -> tuple[bool, Any]:
    """(whether to pass the parameter, the value): the first allowed value that is not ""."""
    for value in values:
        if value != "":
            return True, value
    return False, None


def chosen(allowed: Mapping[str, Any]) -> dict[str, Any]:
    """One allowed value per parameter, optional ones without a value left out."""
    out = {}
    for name, values in allowed.items():
        present, value = first_allowed(values)
        if present:
            out[name] = _resolved(value)
    return out


def _resolved(value: Any) -> Any:
    """A dict alternative holds allowed values per key: pick one for each."""
    if isinstance(value, dict):
        return chosen(value)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [chosen(v) for v in value]
    return value


def _specs(row: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    doc = next(f for f in row["function"] if f["name"] == name)
    return doc["parameters"]["properties"]


def gold_calls(row: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(function name, {param: Python value}) for each expected call."""
    return [(name, chosen(allowed)) for call in row["ground_truth"] for name, allowed in call.items()]


def native_calls(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gold calls as OpenAI tool calls: dots in names as underscores, Java/JS values as source text."""
    language = language_of(row["category"])
    calls = []
    for index, (name, arguments) in enumerate(gold_calls(row)):
        specs = _specs(row, name)
        if language is not Language.PYTHON:
            arguments = {k: source(v, specs[k], language, quoted=False) for k, v in arguments.items()}
        function = {"name": expected_name(name, True), "arguments": json.dumps(arguments)}
        calls.append({"id": f"call_{index}", "type": "function", "function": function})
    return calls


def prompt_answer(row: Mapping[str, Any]) -> str:
    """The gold calls written as BFCL's prompt asks: `[f(a=1, b='x'), ...]`."""
    language = language_of(row["category"])
    written = []
    for name, arguments in gold_calls(row):
        specs = _specs(row, name)
        if language is Language.PYTHON:
            text = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        else:
            text = ", ".join(
                f"{k}={source(v, specs[k], language, quoted=True)}" for k, v in arguments.items()
            )
        written.append(f"{name}({text})")
    return f"[{', '.join(written)}]"


def source(value: Any, spec: Mapping[str, Any], language: Language, *, quoted: bool) -> str:
    """A value as Java or JavaScript source text of its declared type (strings quoted when `quoted`)."""
    kind = spec["type"]
    item = (spec.get("items") or {}).get("type")
    if kind in ("String", "any", "char"):
        return json.dumps(value) if quoted else str(value)
    if isinstance(value, str):
        return value  # a variable's name where the type is not a string
    if kind in ("boolean", "Boolean"):
        return "true" if value else "false"
    if kind == "long":
        return f"{value}L"
    if kind == "float" and language is Language.JAVA:
        return f"{float(value)}f"
    if kind == "Bigint":
        return f"{value}n"
    if kind == "Array":
        return f"new {item}[]{{{', '.join(_java_item(v, item, quote=False) for v in value)}}}"
    if kind == "ArrayList":
        return f"new ArrayList<>(Arrays.asList({', '.join(_java_item(v, item, quote=True) for v in value)}))"
    if kind == "HashMap":
        puts = " ".join(f'put("{k}", {_literal(v)});' for k, v in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    if kind == "array":
        return f"[{', '.join(_literal(v) for v in value)}]"
    if kind == "dict":
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    return str(value)


def _java_item(value: Any, item: str | None, *, quote: bool) -> str:
    if item in ("String", "char"):
        return json.dumps(value) if quote else str(value)
    spec = {"type": item or "any"}
    return source(value, spec, Language.JAVA, quoted=True)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)
