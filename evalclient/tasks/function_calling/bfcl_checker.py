"""BFCL's AST checker, written anew from its rules: does a decoded answer match a row's possible answers?

A decoded answer is a list of calls `[{function name: {parameter: value}}]`; the possible answers are
`[{function name: {parameter: [allowed values]}}]`, where `""` among the allowed values makes a parameter
optional and a list or dict value is a list of alternative lists or dicts. The rules
(ShishirPatil/gorilla, `berkeley-function-call-leaderboard/bfcl_eval/eval_checker/ast_eval/ast_checker.py`):

- dispatch by category: "parallel" in it -> every expected call matched to a distinct answer call in any
  order (greedy, first match wins); "multiple" -> exactly one call, checked against the expected function;
  otherwise exactly one call against the row's one function;
- a call: the function's name (dots turned into underscores where the engine's tool names cannot hold
  them), its required parameters present, no parameter the function or the possible answer lacks, each
  value's type (Java and JavaScript values are converted from source text first; Python ints pass as
  floats), then its value: strings compared after `standardize` (no spaces or `,./-_*^`, lower case, ' as
  "), lists element-wise in order, dicts key by key, other values by equality; a value of another type
  than declared passes as a "variable" when the possible answer holds values of that type; a parameter
  left out must allow "".

Each failure is named by BFCL's own error type (e.g. `type_error:simple`, `value_error:string`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from evalclient.tasks.function_calling.bfcl_types import (
    JAVA_TYPES,
    JS_TYPES,
    UnsupportedType,
    java_value,
    js_value,
)

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_PYTHON_NESTED = ("array", "tuple")
_CONVERTED_NESTED = ("Array", "ArrayList", "array")
_STANDARDIZE = re.compile(r"[ \,\.\/\-\_\*\^]")


class Language(StrEnum):
    PYTHON = "python"
    JAVA = "java"
    JAVASCRIPT = "javascript"


def language_of(category: str) -> Language:
    """JavaScript when the category names it, Java when it names java, else Python (BFCL's test)."""
    if "javascript" in category:
        return Language.JAVASCRIPT
    return Language.JAVA if "java" in category else Language.PYTHON


@dataclass(frozen=True)
class Check:
    """The checker's verdict: valid, or BFCL's error type and a message."""

    valid: bool
    error_type: str | None = None
    error: str = ""


VALID = Check(True)


def _fail(error_type: str, error: str) -> Check:
    return Check(False, error_type, error)


def standardize(text: str) -> str:
    """BFCL's string normalisation: spaces and `,./-_*^` removed, lower case, ' turned into "."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def expected_name(name: str, underscores: bool) -> str:
    """The function name the answer must use: dots as underscores where names cannot hold them."""
    return name.replace(".", "_") if underscores else name


def check_answer(
    category: str,
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[Mapping[str, Any]],
    possible: Sequence[Mapping[str, Any]],
    *,
    underscores: bool = False,
) -> Check:
    """Whether decoded `calls` match the `possible` answers of a row of `category` (not irrelevance)."""
    language = language_of(category)
    if "parallel" in category:
        return _parallel(functions, calls, possible, language, underscores)
    if "multiple" in category:
        if len(calls) != len(possible):
            return _fail("multiple_function_checker:wrong_count", "Wrong number of functions.")
        doc = _function(functions, possible[0])
        return check_call(doc, calls[0], possible[0], language, underscores)
    if len(calls) != 1:
        return _fail("simple_function_checker:wrong_count", "Wrong number of functions.")
    return check_call(functions[0], calls[0], possible[0], language, underscores)


def _function(functions: Sequence[Mapping[str, Any]], answer: Mapping[str, Any]) -> Mapping[str, Any]:
    name = next(iter(answer))
    for doc in functions:
        if doc.get("name") == name:
            return doc
    raise UnsupportedType(f"the possible answer names {name!r}, which the row's functions lack")


def _parallel(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[Mapping[str, Any]],
    possible: Sequence[Mapping[str, Any]],
    language: Language,
    underscores: bool,
) -> Check:
    if len(calls) != len(possible):
        return _fail("parallel_function_checker_no_order:wrong_count", "Wrong number of functions.")
    claimed: set[int] = set()
    for index, answer in enumerate(possible):
        doc = _function(functions, answer)
        match = next(
            (
                i
                for i, call in enumerate(calls)
                if i not in claimed and check_call(doc, call, answer, language, underscores).valid
            ),
            None,
        )
        if match is None:
            return _fail(
                "parallel_function_checker_no_order:cannot_find_match",
                f"no call matches expected call {index} ({next(iter(answer))})",
            )
        claimed.add(match)
    return VALID


def check_call(
    doc: Mapping[str, Any],
    call: Mapping[str, Any],
    answer: Mapping[str, Any],
    language: Language,
    underscores: bool,
) -> Check:
    """One call against one function and its possible answer (BFCL's simple_function_checker)."""
    allowed: Mapping[str, Any] = next(iter(answer.values()))
    name = expected_name(str(doc["name"]), underscores)
    if name not in call:
        return _fail("simple_function_checker:wrong_func_name", f"Function name {name!r} not found.")
    arguments: Mapping[str, Any] = call[name]
    parameters = doc.get("parameters") or {}
    properties: Mapping[str, Any] = parameters.get("properties") or {}
    for required in parameters.get("required") or ():
        if required not in arguments:
            return _fail(
                "simple_function_checker:missing_required", f"Missing required parameter {required!r}."
            )
    for param, value in arguments.items():
        if param not in properties or param not in allowed:
            return _fail("simple_function_checker:unexpected_param", f"Unexpected parameter {param!r}.")
        verdict = _check_value(str(param), value, properties[param], allowed[param], language)
        if not verdict.valid:
            return verdict
    for param, values in allowed.items():
        if param not in arguments and "" not in values:
            return _fail(
                "simple_function_checker:missing_optional",
                f"Optional parameter {param!r} not provided and not marked as optional.",
            )
    return VALID


def _check_value(param: str, value: Any, spec: Mapping[str, Any], allowed: Any, language: Language) -> Check:
    declared = str(spec.get("type"))
    nested: type | None = None
    if language is Language.PYTHON:
        expected = _lookup(PYTHON_TYPES, declared, language)
        if declared in _PYTHON_NESTED:
            nested = _lookup(PYTHON_TYPES, _item_type(spec), language)
    else:
        table, convert = (JAVA_TYPES, java_value) if language is Language.JAVA else (JS_TYPES, js_value)
        expected = _lookup(table, declared, language)
        if type(value) is not str:
            return _fail(
                f"type_error:{'java' if language is Language.JAVA else 'js'}",
                f"Incorrect type for parameter {param!r}. Expected a string, got {type(value).__name__}.",
            )
        if declared in _CONVERTED_NESTED:
            item = _item_type(spec)
            nested = _lookup(table, item, language)
            value = convert(value, declared, item)
        else:
            value = convert(value, declared)
    if declared == "tuple" and type(value) is tuple:
        value = list(value)
    if language is Language.PYTHON and declared == "float" and type(value) is int:
        value = float(value)
    verdict, variable = type_check(param, value, allowed, expected, nested)
    if not verdict.valid:
        return verdict
    if not variable:
        if expected is dict:
            return dict_check(param, value, allowed)
        if expected is list and nested is dict:
            return list_dict_check(param, value, allowed)
        if expected is str:
            return string_check(param, value, allowed)
        if expected is list:
            return list_check(param, value, allowed)
    if value not in allowed:
        return _fail("value_error:others", f"Invalid value for parameter {param!r}: {value!r}.")
    return VALID


def _lookup(table: Mapping[str, type], name: str, language: Language) -> type:
    if name not in table:
        raise UnsupportedType(f"BFCL's checker has no {language} type {name!r}")
    return table[name]


def _item_type(spec: Mapping[str, Any]) -> str:
    items = spec.get("items")
    if not isinstance(items, Mapping) or "type" not in items:
        raise UnsupportedType(f"an {spec.get('type')} parameter without an item type")
    return str(items["type"])


def _answer_type(allowed: Any) -> type | None:
    """The type of the first allowed value that is not "" (a variable's name when it is not the declared
    type), None when there is none."""
    for value in allowed:
        if value != "":
            return type(value)
    return None


def type_check(
    param: str, value: Any, allowed: Any, expected: type, nested: type | None
) -> tuple[Check, bool]:
    """(verdict, whether the value passed as a variable) — BFCL's type_checker, one level of nesting."""
    answer_type = _answer_type(allowed)
    variable = answer_type is not None and answer_type is not expected
    nested_failed = False
    if type(value) is expected:
        if nested is None:
            return VALID, variable
        for alternative in allowed:
            items: Any = value
            if type(alternative) is not list or all(_item_ok(i, alternative, nested) for i in items):
                return VALID, variable
        nested_failed = True
    if answer_type is not None and type(value) is answer_type:
        if nested_failed:
            return _fail("type_error:nested", f"Nested type checking failed for parameter {param!r}."), True
        return VALID, True
    return _fail(
        "type_error:simple", f"Incorrect type for parameter {param!r}: {type(value).__name__}."
    ), False


def _item_ok(item: Any, alternative: list[Any], nested: type) -> bool:
    if type(item) is nested:
        return True
    answer_type = _answer_type(alternative)
    return answer_type is not None and type(item) is answer_type


def string_check(param: str, value: str, allowed: Any) -> Check:
    if standardize(value) in [standardize(a) for a in allowed if type(a) is str]:
        return VALID
    return _fail("value_error:string", f"Invalid value for parameter {param!r}: {value!r}.")


def _standard_items(values: Any) -> list[Any]:
    return [standardize(v) if type(v) is str else v for v in values]


def list_check(param: str, value: list[Any], allowed: Any) -> Check:
    """Element-wise, in order, strings standardized one level deep ("" allows the empty list)."""
    alternatives = [_standard_items(a) for a in allowed if isinstance(a, list | tuple | str)]
    if _standard_items(value) in alternatives:
        return VALID
    return _fail("value_error:list/tuple", f"Invalid value for parameter {param!r}: {value!r}.")


def dict_check(param: str, value: Mapping[str, Any], allowed: Any) -> Check:
    """The first alternative dict (skipping "") that every key and value of `value` fits, with every key
    left out optional; else the last alternative's failure."""
    verdict = _fail("dict_checker:unclear", f"No alternative for parameter {param!r}.")
    for alternative in allowed:
        if alternative == "":
            continue
        verdict = _dict_fits(value, alternative)
        if verdict.valid:
            return VALID
    return verdict


def _dict_fits(value: Mapping[str, Any], alternative: Mapping[str, Any]) -> Check:
    for key, item in value.items():
        if key not in alternative:
            return _fail("value_error:dict_key", f"Unexpected dict key parameter: {key!r}.")
        standard = standardize(item) if type(item) is str else item
        if standard not in _standard_items(alternative[key]):
            return _fail("value_error:dict_value", f"Invalid value for dict key {key!r}: {item!r}.")
    for key, values in alternative.items():
        if key not in value and "" not in values:
            return _fail("value_error:dict_key", f"Missing dict key parameter: {key!r}.")
    return VALID


def list_dict_check(param: str, value: list[Any], allowed: Any) -> Check:
    """A list of dicts: an alternative of the same length whose dicts each fit, in order."""
    verdict = _fail("list_dict_checker:unclear", f"No alternative for parameter {param!r}.")
    for alternative in allowed:
        if len(value) != len(alternative):
            verdict = _fail("value_error:list_dict_count", "Wrong number of dictionaries in the list.")
            continue
        for item, expected in zip(value, alternative, strict=True):
            verdict = dict_check(param, item, [expected])
            if not verdict.valid:
                break
        else:
            return VALID
    return verdict
