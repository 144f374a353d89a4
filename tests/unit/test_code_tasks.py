"""humaneval and mbpp without executing anything: prompts, programs built from answers, metrics counted.

The sandbox here is a stand-in that reads each program's outcome from a marker comment; real execution is
tested in test_sandbox_subprocess.py and tests/docker/test_sandbox_docker.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from recording_model import RecordingModel

from evalclient.client.completion import Completion, ErrorKind, RequestError
from evalclient.client.requests import RequestKind
from evalclient.errors import EvalClientError
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.context import ExecutionResult, Program, ScoreContext
from evalclient.tasks.humaneval import (
    HUMANEVAL,
    HUMANEVAL_COMPLETION,
    completion_program,
    humaneval_task,
    instruct_program,
    package_rows,
)
from evalclient.tasks.mbpp import MBPP, MBPP_COMPLETION, MBPP_SANITIZED
from evalclient.tasks.solving import solve_samples

PROMPT = 'from typing import List\n\n\ndef add(a: int, b: int) -> int:\n    """Add two numbers."""\n'
ROW = {
    "task_id": "T/0",
    "prompt": PROMPT,
    "entry_point": "add",
    "test": "def check(c):\n    assert c(1, 2) == 3\n",
}


class MarkerSandbox:
    """Answers each program with the status named in its `# outcome: <status>` comment (else passed)."""

    name = "marker"
    timeout_s = 3.0

    def __init__(self) -> None:
        self.programs: list[Program] = []

    async def run(self, programs: Sequence[Program], timeout_s: float | None = None) -> list[ExecutionResult]:
        self.programs.extend(programs)
        results = []
        for program in programs:
            found = re.search(r"# outcome: (\w+)", program.code)
            status = found.group(1) if found else "passed"
            results.append(ExecutionResult(status, error=None if status == "passed" else f"{status}!"))
        return results


def _output(sample_id: str, *texts: str, kind: RequestKind = RequestKind.CHAT) -> SampleOutput:
    return SampleOutput(sample_id, [Completion(sample_id, kind, text=t, finish_reason="stop") for t in texts])


def test_humaneval_instruct_program_runs_the_answer_after_the_prompt() -> None:
    sample = Sample("T/0", ROW)
    answer = "Here you go:\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n"
    full = instruct_program(sample, answer)
    assert full.code == PROMPT + "\ndef add(a: int, b: int) -> int:\n    return a + b\n"
    assert full.test == "def check(c):\n    assert c(1, 2) == 3\n\n\ncheck(add)\n"
    body = instruct_program(sample, "```python\n    return a + b\n```")
    assert body.code == PROMPT + "    return a + b\n"


def test_humaneval_completion_keeps_indentation_and_stops() -> None:
    program = completion_program(Sample("T/0", ROW), "    return a + b\n\n\ndef unrelated():\n    pass\n")
    assert program.code == PROMPT + "    return a + b\n\n"


def test_mbpp_programs_put_setup_before_the_asserts(fixtures_dir: Path) -> None:
    from evalclient.tasks import mbpp

    row = json.loads((fixtures_dir / "mbpp.jsonl").read_text().splitlines()[1])
    program = mbpp.instruct_program(Sample("902", row), "```python\ndef distance(a, b):\n    return 0\n```")
    assert program.code == "def distance(a, b):\n    return 0\n"
    assert program.test == (
        "import math\nassert distance((0, 0), (3, 4)) == 5.0\nassert distance((1, 1), (1, 1)) == 0.0\n"
        "assert distance((-1, 0), (2, 4)) == 5.0\n"
    )
    sanitized = json.loads((fixtures_dir / "mbpp_sanitized.jsonl").read_text().splitlines()[1])
    assert mbpp.harness_test(sanitized).startswith("import math\nassert root2(2) == 1.41\n")
    assert mbpp.completion_program(Sample("902", row), "def f():\n    pass\n[DONE] more").code == (
        "def f():\n    pass\n"
    )


async def test_solvers_ask_as_declared(fixtures_dir: Path) -> None:
    model = RecordingModel("```python\npass\n```")
    row = json.loads((fixtures_dir / "mbpp.jsonl").read_text().splitlines()[0])
    await solve_samples(HUMANEVAL, [Sample("T/0", ROW)], model)
    await solve_samples(HUMANEVAL_COMPLETION, [Sample("T/0", ROW)], model)
    await solve_samples(MBPP, [Sample("901", row)], model)
    await solve_samples(MBPP_COMPLETION, [Sample("901", row)], model)
    chat, generate, mbpp_chat, mbpp_generate = model.requests
    assert (chat.kind, chat.sampling.temperature) == (RequestKind.CHAT, 0.0)  # type: ignore[union-attr]
    content = chat.messages[0]["content"]  # type: ignore[union-attr]
    assert content.endswith(f"```python\n{PROMPT.strip()}\n```\n")
    assert generate.prompt == PROMPT  # type: ignore[union-attr]
    assert generate.sampling.stop == ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
    assert mbpp_chat.messages[0]["content"] == (  # type: ignore[union-attr]
        "You are an expert Python programmer, and here is your task:\n"
        "Write a function to return the sum of the squares of a list of integers.\n"
        "Your code should pass these tests:\nassert sum_squares([1, 2, 3]) == 14\n"
        "assert sum_squares([]) == 0\nassert sum_squares([-2]) == 4\n"
        "Write the code in one markdown code block (```python ... ```)."
    )
    assert mbpp_generate.prompt.endswith("assert sum_squares([-2]) == 4\n[BEGIN]\n")  # type: ignore[union-attr]
    assert mbpp_generate.sampling.stop == ("[DONE]",)
    assert MBPP_SANITIZED.source.config == "sanitized"


async def test_greedy_metrics() -> None:
    samples = [Sample(str(i), ROW) for i in range(5)]
    outputs = {
        "0": _output("0", "```python\ndef add(a, b):\n    return a + b\n```"),
        "1": _output("1", "```python\ndef add(a, b):\n    return 0  # outcome: failed\n```"),
        "2": _output("2", "```python\nwhile True: pass  # outcome: timeout\n```"),
        "3": _output("3", ""),
        "4": SampleOutput("4", [], RequestError(ErrorKind.TIMEOUT, "no answer")),
    }
    sandbox = MarkerSandbox()
    result = await HUMANEVAL.scorer(samples, outputs, ScoreContext(sandbox=sandbox))  # type: ignore[misc]
    metrics = result.metrics
    assert len(sandbox.programs) == 4  # the failed request has no program
    assert metrics["pass@1"] == 2 / 5  # "" runs the prompt's stub: the marker sandbox passes it
    assert metrics["code_execution_success_rate"] == 3 / 5
    assert metrics["execution_statuses"] == {"failed": 1, "passed": 2, "timeout": 1}
    assert (metrics["num_programs"], metrics["sandbox"], metrics["timeout_s"]) == (4, "marker", 3.0)
    assert (metrics["num_errors"], metrics["num_empty"], metrics["error_rate"]) == (1, 1, 0.2)
    assert result.per_sample["1"] == {
        "correct": False,
        "parsed": True,
        "passed": 0,
        "programs": 1,
        "statuses": ["failed"],
        "errors": ["failed!"],
    }
    assert result.per_sample["4"]["parsed"] is None
    assert result.per_sample["3"]["parsed"] is False


async def test_several_samples_per_problem_give_unbiased_pass_at_k() -> None:
    task = humaneval_task(samples_per_problem=10, temperature=0.2)
    assert task.name == "humaneval_n10"
    assert task.sampling is not None
    assert task.sampling.temperature == 0.2
    model = RecordingModel("```python\ndef add(a, b):\n    return a + b\n```")
    (output,) = await solve_samples(task, [Sample("T/0", ROW)], model)
    assert [r.id for r in model.requests] == [f"T/0/{i}" for i in range(10)]
    assert [r.sampling.seed for r in model.requests] == list(range(1234, 1244))  # type: ignore[union-attr]
    good, bad = "```python\npass\n```", "```python\npass  # outcome: error\n```"
    outputs = {"a": _output("a", *([good] * 3 + [bad] * 7)), "b": _output("b", *([bad] * 10))}
    samples = [Sample("a", ROW), Sample("b", ROW)]
    metrics = (await task.scorer(samples, outputs, ScoreContext(sandbox=MarkerSandbox()))).metrics  # type: ignore[misc]
    assert metrics["pass@1"] == pytest.approx((0.3 + 0.0) / 2)
    assert metrics["pass@10"] == pytest.approx((1.0 + 0.0) / 2)
    assert "pass@100" not in metrics
    assert metrics["code_execution_success_rate"] == 3 / 20
    assert len(output.completions) == 10


async def test_code_tasks_need_a_sandbox() -> None:
    with pytest.raises(EvalClientError, match="humaneval executes the model's code"):
        await HUMANEVAL.scorer([Sample("T/0", ROW)], {}, ScoreContext())  # type: ignore[misc]


def test_the_package_ships_all_164_problems() -> None:
    rows: list[dict[str, Any]] = package_rows()
    assert len(rows) == 164
    assert (rows[0]["task_id"], rows[-1]["task_id"]) == ("HumanEval/0", "HumanEval/163")
    assert set(rows[0]) == {"task_id", "prompt", "canonical_solution", "test", "entry_point"}
