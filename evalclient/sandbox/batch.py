"""The suite's side of the batch runner: what a batch sends, how its output is read, and batches that die.

Both sandboxes start `runner.py` with one batch on stdin and read `<nonce> <json>` lines back; lines without
the batch's nonce are ignored. A batch whose runner died before reporting every program (a program that
killed it, a container that was lost) is not retried whole: its unreported programs run again one per
batch, so one hostile program can fail only itself.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from evalclient.config import SandboxSettings
from evalclient.tasks.context import SANDBOX_ERROR, ExecutionResult, Program

KEPT_OUTPUT = 2000
PROGRAM_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
FILE_LIMIT_BYTES = 16 * 2**20


@cache
def runner_source() -> str:
    """The text of runner.py, run as `python3 -I -c <text>` inside the sandbox."""
    return (Path(__file__).resolve().parent / "runner.py").read_text(encoding="utf-8")


@dataclass
class BatchOutput:
    """What a runner reported: results by program index, the process groups it started, its isolation."""

    results: dict[int, ExecutionResult] = field(default_factory=dict)
    started: dict[int, int] = field(default_factory=dict)
    network_isolated: bool | None = None
    private_tmp: bool | None = None
    failure: str | None = None
    """Why the runner did not report every program (None when it did)."""


def batch_input(
    programs: Sequence[Program],
    *,
    nonce: str,
    settings: SandboxSettings,
    timeout_s: float,
    parallel: int,
    workdir: str,
    python: str | None = None,
    uid_base: int | None = None,
    isolate: bool = False,
    strays: str = "group",
) -> bytes:
    """The JSON document runner.py reads on stdin."""
    batch: dict[str, Any] = {
        "nonce": nonce,
        "python": python,
        "timeout_s": timeout_s,
        "parallel": parallel,
        "workdir": workdir,
        "uid_base": uid_base,
        "isolate": isolate,
        "strays": strays,
        "env": PROGRAM_ENV,
        "limits": {
            "memory_bytes": settings.memory_mb * 2**20,
            "file_bytes": FILE_LIMIT_BYTES,
            "processes": settings.processes,
        },
        "programs": [{"code": p.code, "test": p.test} for p in programs],
    }
    return json.dumps(batch).encode("utf-8")


def new_nonce() -> str:
    return secrets.token_hex(16)


def parse_output(text: str, nonce: str) -> BatchOutput:
    """The runner's reports among `text`'s lines (anything without the nonce is ignored)."""
    output = BatchOutput()
    prefix = nonce + " "
    for line in text.splitlines():
        if not line.startswith(prefix):
            continue
        try:
            record = json.loads(line[len(prefix) :])
        except json.JSONDecodeError:
            continue
        event = record.get("event")
        if event == "start":
            output.network_isolated = record.get("network_isolated")
            output.private_tmp = record.get("private_tmp")
        elif event == "started":
            output.started[int(record["index"])] = int(record["pgid"])
        elif event == "result":
            output.results[int(record["index"])] = _result(record)
    return output


def _result(record: dict[str, Any]) -> ExecutionResult:
    return ExecutionResult(
        status=str(record["status"]),
        error=record.get("error"),
        phase=record.get("phase"),
        stdout=str(record.get("stdout", ""))[:KEPT_OUTPUT],
        stderr=str(record.get("stderr", ""))[-KEPT_OUTPUT:],
        exit_code=record.get("exit_code"),
        signal=record.get("signal"),
        duration_s=float(record.get("duration_s", 0.0)),
    )


BatchRun = Callable[[Sequence[Program]], Awaitable[BatchOutput]]


async def run_batches(
    programs: Sequence[Program], run_batch: BatchRun, batch_size: int
) -> list[ExecutionResult]:
    """Every program's result, in order: batches of `batch_size` one after another, then each program a
    failed batch left unreported alone."""
    results: list[ExecutionResult | None] = [None] * len(programs)
    retry: list[int] = []
    for start in range(0, len(programs), batch_size):
        indices = list(range(start, min(start + batch_size, len(programs))))
        output = await run_batch([programs[i] for i in indices])
        for position, index in enumerate(indices):
            results[index] = output.results.get(position)
        missing = [i for i in indices if results[i] is None]
        if missing and len(indices) == 1:
            results[indices[0]] = _lost(output.failure)
        else:
            retry.extend(missing)
    for index in retry:
        output = await run_batch([programs[index]])
        results[index] = output.results.get(0) or _lost(output.failure)
    return [r if r is not None else _lost(None) for r in results]


def _lost(failure: str | None) -> ExecutionResult:
    return ExecutionResult(
        SANDBOX_ERROR,
        error=failure or "the sandbox runner ended before reporting this program (did the program kill it?)",
    )
