"""Java and JavaScript argument values read the way BFCL's AST checker reads them: source text -> a value.

BFCL asks for Java and JavaScript arguments as strings of source code ("5000L", "new int[]{1, 2}",
"[1, 'a']"); before its type check the checker converts them by the rules of its type converters
(`bfcl_eval/eval_checker/ast_eval/type_convertor`), implemented here anew. Text that does not fit its
type's pattern stays a string, so the type check that follows fails it. Types the converters do not handle
(Set, Hashtable, Queue, Stack, or unknown names) raise `UnsupportedType`.
"""

from __future__ import annotations

import re
from typing import Any

JAVA_TYPES: dict[str, type] = {
    "byte": int,
    "short": int,
    "integer": int,
    "float": float,
    "double": float,
    "long": int,
    "boolean": bool,
    "char": str,
    "Array": list,
    "ArrayList": list,
    "Set": set,
    "HashMap": dict,
    "Hashtable": dict,
    "Queue": list,
    "Stack": list,
    "String": str,
    "any": str,
}
JS_TYPES: dict[str, type] = {
    "String": str,
    "integer": int,
    "float": float,
    "Bigint": int,
    "Boolean": bool,
    "dict": dict,
    "array": list,
    "any": str,
}

_INTEGER = re.compile(r"^-?\d+$")
_JAVA_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_JAVA_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_JAVA_LONG = re.compile(r"^-?\d+[lL]$")
_JAVA_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_JAVA_AS_LIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_JAVA_ADDS = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_JAVA_ADD = re.compile(r"add\((.+?)\)")
_JAVA_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")
_JAVA_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_JAVA_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_JAVA_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")
_JS_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"^-?\d+n$")
_JS_ARRAY_2D = re.compile(
    r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)"
)
_JS_ARRAY = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_JS_INNER = re.compile(r"\[(.*?)\]")
_JS_OBJECT = re.compile(r"\{(.*?)\}")
_JS_PAIR = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


class UnsupportedType(ValueError):
    """A declared type BFCL's converters do not convert."""


def java_value(text: str, declared: str, item_type: str | None = None) -> Any:
    """A Java argument's source text as the value of its declared type (the text itself when it does not
    fit); `item_type` is the element type of Array and ArrayList."""
    if declared in ("byte", "short", "integer"):
        return int(text) if _INTEGER.match(text) else text
    if declared == "float":
        return float(re.sub(r"[fF]$", "", text)) if _JAVA_FLOAT.match(text) else text
    if declared == "double":
        return float(text) if _JAVA_DOUBLE.match(text) else text
    if declared == "long":
        return int(re.sub(r"[lL]$", "", text)) if _JAVA_LONG.match(text) else text
    if declared == "boolean":
        return text == "true" if text in ("true", "false") else text
    if declared == "char":
        return text  # BFCL's char pattern (^\'.$\') matches no text: a char stays as written
    if declared == "Array":
        return _java_array(text, item_type)
    if declared == "ArrayList":
        return _java_array_list(text, item_type)
    if declared == "HashMap":
        return _java_map(text)
    if declared in ("String", "any"):
        return str(text)
    raise UnsupportedType(f"BFCL does not convert Java type {declared!r}")


def java_literal(text: str) -> Any:
    """A Java literal whose type is not declared: boolean, "string", 5L, 1.5f, else a number, else text."""
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _JAVA_LONG.match(text):
        return int(text[:-1])
    if _JAVA_FLOAT.match(text):
        return float(re.sub(r"[fF]$", "", text))
    return _number_or_text(text)


def _java_element(text: str, item_type: str | None) -> Any:
    if item_type in ("char", "String"):
        return text[1:-1]  # the quotes removed
    return java_value(text, item_type) if item_type else java_literal(text)


def _java_array(text: str, item_type: str | None) -> Any:
    found = _JAVA_ARRAY.search(text)
    if found is None:
        return text
    parts = [part.strip() for part in found.group(1).split(",") if part.strip()]
    return [java_value(p, item_type) if item_type else java_literal(p) for p in parts]


def _java_array_list(text: str, item_type: str | None) -> Any:
    found = _JAVA_AS_LIST.search(text)
    if found is not None:
        return [_java_element(part.strip(), item_type) for part in found.group(1).split(",")]
    found = _JAVA_ADDS.search(text)
    if found is not None:
        return [_java_element(part.strip(), item_type) for part in _JAVA_ADD.findall(found.group(1))]
    return [] if _JAVA_EMPTY_LIST.search(text) else text


def _java_map(text: str) -> Any:
    found = _JAVA_MAP.search(text)
    if found is not None:
        entries = found.group(1)
        if not entries.strip():
            return {}
        return {key: java_literal(value.strip()) for key, value in _JAVA_PUT.findall(entries)}
    return {} if _JAVA_EMPTY_MAP.search(text) else text


def js_value(text: str, declared: str, item_type: str | None = None) -> Any:
    """A JavaScript argument's source text as the value of its declared type (the text itself when it does
    not fit); `item_type` is the element type of an array."""
    if declared == "String":
        quoted = len(text) >= 1 and text[0] in "\"'" and text.startswith(text[0]) and text.endswith(text[0])
        return text[1:-1] if quoted else str(text)
    if declared == "integer":
        return int(text) if _INTEGER.match(text) else text
    if declared == "float":
        return float(text) if _JS_FLOAT.match(text) else text
    if declared == "Bigint":
        return int(text[:-1]) if _JS_BIGINT.match(text) else text
    if declared == "Boolean":
        return text == "true" if text in ("true", "false") else text
    if declared == "dict":
        return _js_object(text.strip())
    if declared == "array":
        return _js_array(text.strip(), item_type)
    if declared == "any":
        return str(text)
    raise UnsupportedType(f"BFCL does not convert JavaScript type {declared!r}")


def js_literal(text: str) -> Any:
    """A JavaScript literal whose type is not declared: boolean, quoted string, number, else the text."""
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 1 and text[0] in "\"'" and text.endswith(text[0]):
        return text[1:-1]
    return _number_or_text(text)


def _js_array(code: str, item_type: str | None) -> Any:
    try:
        rows = _JS_ARRAY_2D.match(code)
        if rows is not None:
            result = []
            for index, inner in enumerate(_JS_INNER.findall(rows.group(0))):
                inner = inner.strip()
                if index == 0 and inner.startswith("["):
                    inner = inner[1:]
                result.append([js_literal(part.strip()) for part in inner.split(",")])
            return result
        flat = _JS_ARRAY.match(code)
        if flat is None:
            return code
        body = flat.group(1) if flat.group(1) is not None else flat.group(2) or ""
        parts = body.strip().split(",") if body.strip() else []
        if item_type:
            return [js_value(part.strip(), item_type) for part in parts]
        return [js_literal(part.strip()) for part in parts]
    except Exception:  # BFCL keeps the text when its reading fails
        return code


def _js_object(code: str) -> Any:
    if code == "{}":
        return {}
    found = _JS_OBJECT.match(code)
    if found is None:
        return code
    try:
        result: dict[str, Any] = {}
        for raw_key, raw_value in _JS_PAIR.findall(found.group(1)):
            key, value = raw_key.strip().strip("'\""), raw_value.strip()
            if value.startswith("[") and value.endswith("]"):
                result[key] = _js_array(value, None)
            elif value.startswith("{") and value.endswith("}"):
                result[key] = _js_object(value)
            else:
                result[key] = js_literal(value.strip("'\""))
        return result
    except Exception:  # BFCL keeps the text when its reading fails
        return code


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
