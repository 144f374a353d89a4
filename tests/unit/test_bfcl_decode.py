"""Answers read into BFCL's call lists: prompt-mode Python, Java and JavaScript, and native tool calls."""

from __future__ import annotations

from typing import Any

import pytest

from evalclient.client.completion import ToolCall
from evalclient.tasks.function_calling.bfcl_checker import Language
from evalclient.tasks.function_calling.bfcl_decode import (
    DecodeError,
    bracketed,
    decode_prompt_answer,
    decode_python,
    decode_tool_calls,
    has_calls,
    well_formed,
)


@pytest.mark.parametrize(
    ("answer", "calls"),
    [
        (
            '[spotify.play(artist="Taylor Swift", duration=20)]',
            [{"spotify.play": {"artist": "Taylor Swift", "duration": 20}}],
        ),
        ("f(a=1), g(b='x')", [{"f": {"a": 1}}, {"g": {"b": "x"}}]),  # brackets added
        ("```\n[f(a=-2.5)]\n```", [{"f": {"a": -2.5}}]),  # backticks and newlines stripped at the ends
        ("[f(a=[1, 2], b={'k': (3, 4)}, c=None)]", [{"f": {"a": [1, 2], "b": {"k": (3, 4)}, "c": None}}]),
        ("[f(a=x, b=math.pi_value[0])]", [{"f": {"a": "x", "b": "math.pi_value[0]"}}]),  # names as text
        ("[f(a=g(1), b=h(k=2))]", [{"f": {"a": "g(1)", "b": {"h": {"k": 2}}}}]),  # calls as text or nested
        ("[f(a=2 * 3 + 1, b='ab' * 2)]", [{"f": {"a": 7, "b": "abab"}}]),  # arithmetic on literals
        ("[f(10, 5, c=1)]", [{"f": {"c": 1}}]),  # positional arguments are dropped
        ("[a.b.c()]", [{"a.b.c": {}}]),
        ("[f(**kw)]", [{"f": {None: "kw"}}]),  # kept under no name, as BFCL does: an unexpected parameter
        ("[]", []),
    ],
)
def test_python_calls(answer: str, calls: list[dict[str, Any]]) -> None:
    assert decode_python(answer) == calls


@pytest.mark.parametrize(
    "answer",
    [
        "I cannot help with that.",
        "```python\n[f(a=1)]\n```",  # BFCL leaves the language tag in, which is no call
        "[f(a=1), 2]",
        "[f(a=b + 1)]",  # arithmetic on a name
        "[f(a=2 ** 100000)]",  # too large to evaluate
        "[f(a=lambda: 1)]",
        "[f(a=math.pi)]",  # an attribute value is not read by BFCL either
    ],
)
def test_what_python_decoding_refuses(answer: str) -> None:
    with pytest.raises(DecodeError):
        decode_python(answer)


def test_bracketed_is_bfcls_preparation() -> None:
    assert bracketed(" `[f()]` \n") == "[f()]"
    assert bracketed("f()") == "[f()]"


@pytest.mark.parametrize(
    ("answer", "language", "calls"),
    [
        (
            '[Db.open(url="jdbc:h2:mem", timeout=5000L, ids=new int[]{1, 2}, m=new HashMap<String, Long>())]',
            Language.JAVA,
            [
                {
                    "Db.open": {
                        "url": "jdbc:h2:mem",
                        "timeout": "5000L",
                        "ids": "new int[]{1, 2}",
                        "m": "new HashMap<String, Long>()",
                    }
                }
            ],
        ),
        ("Util.first(c='x', s=\"a, b=c\");", Language.JAVA, [{"Util.first": {"c": "x", "s": "a, b=c"}}]),
        (
            "[drawChart(series=[4, 8], title='Sales', options={color: 'blue', width: 2}, f=x => x == 1)]",
            Language.JAVASCRIPT,
            [
                {
                    "drawChart": {
                        "series": "[4, 8]",
                        "title": "Sales",
                        "options": "{color: 'blue', width: 2}",
                        "f": "x => x == 1",
                    }
                }
            ],
        ),
        ("[go(5, b=2)]", Language.JAVASCRIPT, [{"go": {"b": "2"}}]),  # positional dropped
    ],
)
def test_java_and_javascript_calls_keep_source_text(
    answer: str, language: Language, calls: list[dict[str, Any]]
) -> None:
    assert decode_prompt_answer(answer, language) == calls


@pytest.mark.parametrize("answer", ["no call here", "[f(a=1), g(b=2)]", "[f(a='open)]", "[f(a=(1]"])
def test_what_source_decoding_refuses(answer: str) -> None:
    with pytest.raises(DecodeError):
        decode_prompt_answer(answer, Language.JAVA)


def test_native_tool_calls_and_qwen_markup() -> None:
    calls = [ToolCall("get_price", '{"symbol": "AAPL"}', {"symbol": "AAPL"}), ToolCall("get_price", "{}", {})]
    assert decode_tool_calls(calls, "ignored") == [{"get_price": {"symbol": "AAPL"}}, {"get_price": {}}]
    markup = 'Sure.\n<tool_call>\n{"name": "get_price", "arguments": {"symbol": "MSFT"}}\n</tool_call>'
    assert decode_tool_calls([], markup) == [{"get_price": {"symbol": "MSFT"}}]
    with pytest.raises(DecodeError, match="no tool call"):
        decode_tool_calls([], "The price is 10.")
    broken = ToolCall("get_price", '{"symbol": ', None, parse_error="arguments are not JSON: Expecting value")
    with pytest.raises(DecodeError, match="get_price: arguments are not JSON"):
        decode_tool_calls([broken], "")


@pytest.mark.parametrize(
    ("decoded", "formed", "calls"),
    [
        ([{"f": {"a": 1}}], True, True),
        ([], True, False),
        ([{}], False, False),
        ([{"f": {}}], True, True),
        ([{"f": [1]}], False, False),
        ([{"f": {}, "g": {}}], False, False),
        ("f(a=1)", False, False),
        (None, False, False),
    ],
)
def test_format_check_and_irrelevance_reading(decoded: Any, formed: bool, calls: bool) -> None:
    assert (well_formed(decoded), has_calls(decoded)) == (formed, calls)
