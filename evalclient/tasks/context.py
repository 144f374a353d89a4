"""What a scorer may use besides the answers: CPU threads, a code sandbox, a judge.

Scoring runs on the event loop of the sweep, so anything heavy goes through the context: `run_cpu` for
CPU-bound work (regexes over thousands of answers, BLEU), the sandbox for untrusted code, the judge for
answers graded by another model. A scorer that needs a facility the run has none of fails with a clear error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from evalclient.errors import EvalClientError

T = TypeVar("T")


@dataclass(frozen=True)
class ExecutionResult:
    """How one program ended in the sandbox."""

    status: str  # "passed" | "failed" | "timeout" | "error"
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0


class CodeSandbox(Protocol):
    """Runs untrusted programs in isolation (no network, bounded resources); `name` is recorded."""

    name: str

    async def run(self, programs: Sequence[str], timeout_s: float) -> list[ExecutionResult]: ...


class Judge(Protocol):
    """Another model that grades stored answers; `name` is recorded."""

    name: str

    async def grade(self, prompts: Sequence[Sequence[dict[str, Any]]]) -> list[str | None]: ...


@dataclass
class ScoreContext:
    """The facilities of one scoring pass."""

    sandbox: CodeSandbox | None = None
    judge: Judge | None = None

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
                "run `evalclient judge` after the sweep",
            )
        return self.judge
