"""What a scorer may use besides the answers: CPU threads, a code sandbox, a judge.

Scoring runs on the event loop of the sweep, so anything heavy goes through the context: `run_cpu` for
CPU-bound work (regexes over thousands of answers, BLEU), the sandbox for untrusted code, the judge for
answers graded by another model. A scorer that needs a facility the run has none of fails with a clear error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest
from evalclient.errors import EvalClientError

T = TypeVar("T")


@dataclass(frozen=True)
class Program:
    """An untrusted program in two phases run in one namespace: the model's code, then the tests."""

    code: str
    test: str


PASSED, FAILED, ERROR, EXITED, TIMEOUT, SANDBOX_ERROR = (
    "passed",
    "failed",
    "error",
    "exited",
    "timeout",
    "sandbox_error",
)
RAN_TO_THE_END = frozenset({PASSED, FAILED})
"""Statuses of a program that ran to the end of its tests (a failed assertion is a wrong answer, not a
crash)."""


@dataclass(frozen=True)
class ExecutionResult:
    """How one program ended in the sandbox.

    status: `passed` (the tests ran to the end), `failed` (a test assertion failed), `error` (another
    exception; `phase` says whether in the code or the tests), `exited` (the process ended before its tests
    reported: exit(), a signal, a resource limit), `timeout` (killed after the time limit, with its process
    group), `sandbox_error` (the sandbox itself failed; the program's outcome is unknown).
    """

    status: str
    error: str | None = None
    phase: str | None = None
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    signal: int | None = None
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def ran_to_the_end(self) -> bool:
        return self.status in RAN_TO_THE_END


class CodeSandbox(Protocol):
    """Runs untrusted programs in isolation (no network, bounded resources).

    `name` is recorded with the scores (it is known once the sandbox was first used); `timeout_s` is the
    configured per-program timeout, which `run` applies when given None.
    """

    @property
    def name(self) -> str: ...

    @property
    def timeout_s(self) -> float: ...

    async def run(
        self, programs: Sequence[Program], timeout_s: float | None = None
    ) -> list[ExecutionResult]: ...


@dataclass(frozen=True)
class JudgeItem:
    """One request to the judge: `key` names it within its combination (e.g. `81/turn2`), `meta` is what the
    scorer needs back with the judgment (turn, category, prompt name, order), stored beside the raw answer."""

    key: str
    sample_id: str
    request: ChatRequest
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Judgment:
    """The judge's answer to one item (`completion.error` set when the request failed); `reused` when it
    came from the judgments stored by an earlier `evalclient judge`."""

    item: JudgeItem
    completion: Completion
    reused: bool = False


class Judge(Protocol):
    """Another model that grades stored answers. `identity` is recorded with the scores (name, model, kind,
    whether it is a self-judge); `grade` answers every item, reusing judgments stored earlier."""

    @property
    def identity(self) -> dict[str, Any]: ...

    async def grade(self, items: Sequence[JudgeItem]) -> list[Judgment]: ...


@dataclass
class ScoreContext:
    """The facilities of one scoring pass."""

    sandbox: CodeSandbox | None = None
    judge: Judge | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    """Dataset-level data a scorer needs beside the rows, by name (alpaca_eval: df_gamed.csv's rows)."""

    async def run_cpu(self, function: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound scoring in a worker thread, off the event loop."""
        return await asyncio.to_thread(function, *args)

    def require_sandbox(self, task: str) -> CodeSandbox:
        if self.sandbox is None:
            raise EvalClientError(f"{task} executes the model's code and this run has no code sandbox")
        return self.sandbox

    def require_judge(self, task: str) -> Judge:
        if self.judge is None:
            raise EvalClientError(
                f"{task} is graded by a judge model and none was given",
                "run `evalclient judge` on the results folder after the sweep",
            )
        return self.judge
