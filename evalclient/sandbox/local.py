"""The fallback sandbox without Docker: each program a local subprocess (weaker isolation).

The batch runner runs as a child of the suite with a scrubbed environment; each program gets its own
session, rlimits (CPU time, address space, file size, processes), an empty working directory and a scrubbed
environment. Where the kernel allows, the runner first moves into an empty network namespace and a mount
namespace with private tmpfs over /tmp, /var/tmp, /dev/shm and /run/lock (for a non-root user through a user
namespace). As root it runs every program under a user id of its own per slot: RLIMIT_NPROC does not bind
root, and a foreign uid can neither signal the suite, read its environment nor write the suite's files, and
everything it left behind is killed by uid. What stays weaker than a container: a program can read the
host's world-readable files; as a non-root user it runs under your uid, so it could signal or read your
other processes; and where namespaces are refused it can reach the network and write to /tmp (a warning
says which).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from evalclient.config import SandboxSettings
from evalclient.errors import EnvironmentProblem
from evalclient.sandbox.batch import (
    BatchOutput,
    batch_input,
    new_nonce,
    parse_output,
    run_batches,
    runner_source,
)
from evalclient.tasks.context import ExecutionResult, Program

log = logging.getLogger("evalclient.sandbox")

SUBPROCESS_NAME = "subprocess (weaker isolation)"
UID_BASE = 2_100_000_000
"""Slot uids (root only): far above any account's uid; the runner uses UID_BASE .. UID_BASE + parallel."""
BATCH_SIZE = 512


class SubprocessSandbox:
    """Programs as local subprocesses, `parallel` at a time (the CPU count by default)."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.parallel = self.settings.parallel or len(os.sched_getaffinity(0))
        self.python = program_interpreter()
        self.uid_base = UID_BASE if os.getuid() == 0 and _uids_mapped(UID_BASE, self.parallel) else None
        self._warned: set[str] = set()

    @property
    def timeout_s(self) -> float:
        return self.settings.timeout_s

    @property
    def name(self) -> str:
        return SUBPROCESS_NAME

    async def run(self, programs: Sequence[Program], timeout_s: float | None = None) -> list[ExecutionResult]:
        timeout = timeout_s or self.settings.timeout_s
        return await run_batches(programs, lambda batch: self._batch(batch, timeout), BATCH_SIZE)

    async def _batch(self, programs: Sequence[Program], timeout_s: float) -> BatchOutput:
        nonce = new_nonce()
        base = tempfile.mkdtemp(prefix="evalclient-sandbox-")
        os.chmod(base, 0o711)  # slot uids may enter it to reach their own 0700 folders, not list it
        payload = batch_input(
            programs,
            nonce=nonce,
            settings=self.settings,
            timeout_s=timeout_s,
            parallel=self.parallel,
            workdir=base,
            python=self.python,
            uid_base=self.uid_base,
            isolate=True,
            strays="uid" if self.uid_base is not None else "group",
        )
        process = await asyncio.create_subprocess_exec(
            self.python,
            "-I",
            "-c",
            runner_source(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            cwd=base,
            start_new_session=True,
        )
        limit = batch_deadline(len(programs), self.parallel, timeout_s)
        failure: str | None = None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(payload), limit)
        except TimeoutError:
            stdout, stderr, failure = b"", b"", f"the sandbox runner did not finish within {limit:.0f} s"
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        output = parse_output(stdout.decode("utf-8", "replace"), nonce)
        for pgid in output.started.values():  # programs of a runner that died: their groups go too
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
        if len(output.results) < len(programs):
            lines = stderr.decode("utf-8", "replace").strip().splitlines()
            output.failure = failure or f"the sandbox runner ended (code {process.returncode})" + (
                f": {lines[-1]}" if lines else ""
            )
        self._warn_once(output)
        return output

    def _warn_once(self, output: BatchOutput) -> None:
        gaps = []
        if output.network_isolated is False:
            gaps.append("the network is reachable (no network namespace could be made)")
        if output.private_tmp is False:
            gaps.append("programs can write to the host's /tmp (no mount namespace could be made)")
        if self.uid_base is None:
            gaps.append("programs run under your own user id")
        for gap in gaps:
            if gap not in self._warned:
                self._warned.add(gap)
                log.warning("code sandbox without Docker: %s; a Docker engine gives full isolation", gap)


def batch_deadline(count: int, parallel: int, timeout_s: float) -> float:
    """How long a whole batch may take: its programs in rounds of `parallel`, with slack for start-up."""
    rounds = -(-count // max(1, parallel))
    return rounds * (timeout_s + 1.0) + 30.0


def program_interpreter() -> str:
    """A python3 every user can execute: this interpreter, else the system's (a foreign slot uid cannot
    reach one inside root's home, e.g. pyenv)."""
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"]
    for candidate in candidates:
        path = Path(os.path.realpath(candidate))
        if path.is_file() and (os.getuid() != 0 or _open_to_all(path)):
            return str(path)
    raise EnvironmentProblem(
        f"no python3 that other users may run was found (tried {', '.join(candidates)})",
        "install the system python3 (apt-get install python3) or run the code sandbox in Docker",
    )


def _open_to_all(path: Path) -> bool:
    """Whether every user may execute `path` (and enter each folder above it)."""
    if not path.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def _uids_mapped(base: int, count: int) -> bool:
    """Whether this user namespace maps the uids base .. base + count (a container's may not)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        inside, _, length = (int(v) for v in line.split())
        if inside <= base and base + count <= inside + length:
            return True
    return False
