"""What a BFCL question sends: the functions with BFCL's language hints, as tools or in the system prompt.

Both modes first add BFCL's language hint to each function's description (" Note that the provided
function is in Python 3 syntax.", or Java 8 SDK / JavaScript); Java and JavaScript parameters become strings
whose descriptions name their real type ("This is Java long type parameter in string representation."),
array element types and JavaScript dict schemas moved into the description, as BFCL does.

- native: each function as an OpenAI tool, its name with "." turned into "_" (engines' tool names cannot
  hold dots; BFCL's underscore_to_dot models do the same) and BFCL's types mapped to JSON Schema ("float" ->
  "number" with format "float" and " This is a float type value." in the description; dict -> object; tuple
  -> array; unknown -> string).
- prompt: BFCL v4's default system prompt (Python call syntax, functions as indented JSON), placed before an
  existing system message's text or as a new first message.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.client.requests import Message
from evalclient.tasks.function_calling.bfcl_checker import Language, expected_name, language_of

SYSTEM_PROMPT = (
    "You are an expert in composing functions.You are given a question and a set of possible functions. "
    "Based on the question, you will need to make one or more function/tool calls to achieve the purpose. "
    "If none of the functions can be used, point it out. If the given question lacks the parameters "
    "required by the function, also point it out.\n\nYou should only return the function calls in your "
    "response.\n\nIf you decide to invoke any of the function(s), you MUST put it in the format of "
    "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)].  "
    "You SHOULD NOT include any other text in the response.\n\nAt each turn, you should try your best to "
    "complete the tasks requested by the user within the current turn. Continue to output functions to call "
    "until you have fulfilled the user's request to the best of your ability. Once you have no more "
    "functions to call, the system will consider the current turn complete and proceed to the next turn or "
    "task.\n\nHere is a list of functions in json format that you can invoke.\n{functions}\n"
)
"""BFCL v4's default prompt (ret_fmt=python, func_doc_fmt=json, plaintext, classic style), verbatim."""

_HINTS = {
    Language.PYTHON: " Note that the provided function is in Python 3 syntax.",
    Language.JAVA: " Note that the provided function is in Java 8 SDK syntax.",
    Language.JAVASCRIPT: " Note that the provided function is in JavaScript syntax.",
}
_LANGUAGE_NAMES = {Language.JAVA: "Java", Language.JAVASCRIPT: "JavaScript"}
_JSON_SCHEMA_TYPES = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
    "byte": "integer",
    "short": "integer",
    "long": "integer",
    "double": "number",
    "char": "string",
    "ArrayList": "array",
    "Array": "array",
    "HashMap": "object",
    "Hashtable": "object",
    "Queue": "array",
    "Stack": "array",
    "Any": "string",
    "String": "string",
    "Bigint": "integer",
}


def hinted_functions(functions: Sequence[Mapping[str, Any]], category: str) -> list[dict[str, Any]]:
    """The functions as BFCL shows them to a model of `category` (a copy; the row is not changed)."""
    language = language_of(category)
    docs: list[dict[str, Any]] = copy.deepcopy([dict(f) for f in functions])
    for doc in docs:
        doc["description"] = str(doc.get("description", "")) + _HINTS[language]
        if language is not Language.PYTHON:
            for spec in ((doc.get("parameters") or {}).get("properties") or {}).values():
                _as_string_parameter(spec, language)
    return docs


def _as_string_parameter(spec: dict[str, Any], language: Language) -> None:
    kind, name = spec.get("type"), _LANGUAGE_NAMES[language]
    note = str(spec.get("description", ""))
    if kind == "any":
        note += f" This parameter can be of any type of {name} object in string representation."
    else:
        note += f" This is {name} {kind} type parameter in string representation."
    arrays = ("ArrayList", "Array") if language is Language.JAVA else ("array",)
    if kind in arrays:
        items = spec.pop("items", {}) or {}
        note += f" The list elements are of type {items.get('type')}; they are not in string representation."
    if language is Language.JAVASCRIPT and kind == "dict" and "properties" in spec:
        schema = json.dumps(spec.pop("properties"))
        note += " The dictionary entries have the following schema; they are not in string representation. "
        note += schema
    spec["description"] = note
    spec["type"] = "string"


def system_prompt(functions: Sequence[Mapping[str, Any]]) -> str:
    """BFCL's prompt-mode system prompt for these (hinted) functions."""
    return SYSTEM_PROMPT.format(functions=json.dumps(list(functions), indent=4))


def prompt_messages(
    messages: Sequence[Message], functions: Sequence[Mapping[str, Any]]
) -> tuple[Message, ...]:
    """The question with the system prompt first (joined before an existing system message's text)."""
    prompt = system_prompt(functions)
    turns = [dict(m) for m in messages]
    if turns and turns[0].get("role") == "system":
        turns[0]["content"] = f"{prompt}\n\n{turns[0].get('content', '')}"
        return tuple(turns)
    return ({"role": "system", "content": prompt}, *turns)


def native_tools(functions: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The (hinted) functions as OpenAI chat tools, dots in names turned into underscores."""
    tools = []
    for function in copy.deepcopy([dict(f) for f in functions]):
        function["name"] = expected_name(str(function.get("name", "")), underscores=True)
        parameters = dict(function.get("parameters") or {})
        parameters["type"] = "object"
        parameters["properties"] = _json_schema(parameters.get("properties") or {})
        function["parameters"] = parameters
        tools.append({"type": "function", "function": function})
    return tuple(tools)


def _json_schema(properties: dict[str, Any]) -> dict[str, Any]:
    for spec in properties.values():
        kind = spec.get("type")
        if kind == "float":
            spec["format"] = "float"
            spec["description"] = str(spec.get("description", "")) + " This is a float type value."
        spec["type"] = _JSON_SCHEMA_TYPES.get(str(kind), "string") if kind is not None else "string"
        if spec["type"] not in ("array", "object"):
            continue
        if "properties" in spec:
            spec["properties"] = _json_schema(spec["properties"])
        elif isinstance(spec.get("items"), dict):
            items = spec["items"]
            items["type"] = _JSON_SCHEMA_TYPES.get(str(items.get("type")), "string")
            if items["type"] == "array" and isinstance(items.get("items"), dict):
                items["items"]["type"] = _JSON_SCHEMA_TYPES.get(str(items["items"].get("type")), "string")
            elif items["type"] == "object" and "properties" in items:
                items["properties"] = _json_schema(items["properties"])
    return properties
