"""The subprocess sandbox (no Docker): real programs in local processes, canonical, broken and hostile.

As root each program runs under a slot uid of its own, so RLIMIT_NPROC binds it (it does not bind root) and
a fork bomb is capped at `processes` and killed by uid afterwards; not as root the limit is the user's
process count plus that budget.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sandbox_cases import (
    GOOD,
    TOKEN,
    TOKEN_NAME,
    Hostile,
    assert_guarded,
    broken_programs,
    canonical_programs,
    guarded_programs,
    listening,
    nobody_connected,
)

from evalclient.config import SandboxSettings
from evalclient.sandbox.local import UID_BASE, SubprocessSandbox, program_interpreter
from evalclient.tasks.context import Program


@pytest.fixture(scope="module")
def sandbox() -> SubprocessSandbox:
    return SubprocessSandbox(SandboxSettings(kind="subprocess"))


async def test_canonical_solutions_pass_and_broken_ones_fail(sandbox: SubprocessSandbox) -> None:
    canonical = await sandbox.run(canonical_programs())
    assert [r.status for r in canonical] == ["passed"] * 164
    broken = await sandbox.run(broken_programs())
    assert sum(r.passed for r in broken) == 0
    assert {r.status for r in broken} <= {"failed", "error"}


async def test_outcomes_come_from_the_tests(sandbox: SubprocessSandbox) -> None:
    programs = [
        GOOD,
        Program("def add(a, b):\n    return a - b\n", GOOD.test),
        Program("def add(a, b):\n    return a +\n", GOOD.test),
        Program("def add(a, b):\n    return a + b\n", "add(1)\n"),
        Program("import sys\nprint('out')\nprint('err', file=sys.stderr)\n", ""),
    ]
    results = await sandbox.run(programs)
    assert [(r.status, r.phase) for r in results] == [
        ("passed", "test"),
        ("failed", "test"),
        ("error", "code"),
        ("error", "test"),
        ("passed", "test"),
    ]
    assert results[1].error == "AssertionError"
    assert results[3].error == "TypeError: add() missing 1 required positional argument: 'b'"
    assert (results[4].stdout, results[4].stderr) == ("out\n", "err\n")


async def test_the_timeout_is_configurable_and_kills_the_group() -> None:
    sandbox = SubprocessSandbox(SandboxSettings(kind="subprocess", timeout_s=1.0))
    program = Program("import os, time\nos.posix_spawnp('sleep', ['sleep', '60'], {})\ntime.sleep(60)\n", "")
    started = time.monotonic()
    (result,) = await sandbox.run([program])
    assert result.status == "timeout"
    assert result.error == "no result within 1 s"
    assert time.monotonic() - started < 10
    assert not _sandboxed_processes()


async def test_hostile_programs_fail_without_harm(
    sandbox: SubprocessSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_NAME, TOKEN)
    target = tmp_path / "host"
    target.mkdir(mode=0o755)
    with listening() as (port, server):
        hostile = Hostile(
            target / "pwned.txt", Path(f"/tmp/evalclient-pwned-{os.getpid()}"), port, os.getpid()
        )
        programs = hostile.programs()
        if os.getuid() != 0:
            # a foreign uid is what keeps the suite out of reach (signals, /proc/<pid>/environ); without root
            # programs run under the caller's uid, the weaker isolation the sandbox warns about
            del programs["killing the parent"], programs["token from the environment"]
        results = await sandbox.run([GOOD, *programs.values(), GOOD])
        assert nobody_connected(server)
    assert (results[0].status, results[-1].status) == ("passed", "passed")
    hostile.assert_contained(dict(zip(programs, results[1:-1], strict=True)))
    assert not _sandboxed_processes()


async def test_guarded_calls_fail_as_under_human_evals_guard(sandbox: SubprocessSandbox) -> None:
    cases = guarded_programs()
    results = await sandbox.run([program for program, _ in cases.values()])
    assert_guarded(
        dict(zip(cases, results, strict=True)), {name: error for name, (_, error) in cases.items()}
    )
    assert len(cases) == 39  # 26 os, 3 shutil, 1 subprocess, 3 builtins, 5 modules, the parent signalled
    assert not _sandboxed_processes()


def test_programs_run_on_an_interpreter_every_user_can_reach() -> None:
    assert Path(program_interpreter()).is_file()


def _sandboxed_processes() -> list[int]:
    """Processes left under the sandbox's slot uids (root) or named by the test programs."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            owner = os.stat(f"/proc/{name}").st_uid
            command = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if owner >= UID_BASE or command.startswith(b"sleep\x0060"):
            found.append(int(name))
    return found
