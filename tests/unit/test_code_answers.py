"""Code read out of answers: the first fenced block, else the whole answer; completions cut at stops."""

from __future__ import annotations

import pytest

from evalclient.tasks.code_answers import first_code_block, truncate_at_stops


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Sure:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"),
        ("```\nx = 1\n```\n```python\ny = 2\n```", "x = 1\n"),
        ("```py\n    indented()\n```", "    indented()\n"),
        ("def f():\n    return 2\n", "def f():\n    return 2\n"),
        ("    return x + 1\n", "    return x + 1\n"),
        ("Cut short:\n```python\ndef f():\n    return", "def f():\n    return"),
        ("1. Code:\n   ```python\n   def f():\n       pass\n   ```\n", "def f():\n    pass\n"),
        ("````python\nprint('```')\n````", "print('```')\n"),
        ("", ""),
    ],
)
def test_first_code_block(answer: str, code: str) -> None:
    assert first_code_block(answer) == code


def test_truncate_at_the_earliest_stop() -> None:
    completion = "    return 1\n\ndef other():\n    pass\n# comment\n"
    assert truncate_at_stops(completion, ("\n#", "\ndef")) == "    return 1\n"
    assert truncate_at_stops("    return 1\n", ("\ndef",)) == "    return 1\n"
