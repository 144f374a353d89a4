"""The simulator as a process of its own, for tests that drive it (or evalclient) from outside: started on a
free port with the `fast` profile and no rules, reaped by the `launch` fixture, waited for on /health."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping

from free_port import free_port


def start_sim(
    procs: list[subprocess.Popen[str]], *args: str, env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], int, str]:
    """(process, port, its start line); appended to `procs` (the `launch` fixture's list)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "evalclient.sim",
        "--port",
        str(port),
        "--profile",
        "fast",
        "--rules",
        "",
        "--prometheus-port",  # not TGI's 9000: several run at once
        "0",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=None if env is None else dict(env)
    )
    procs.append(proc)
    assert proc.stdout is not None
    return proc, port, proc.stdout.readline()


def health(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
        return int(resp.status)


def wait_ready(port: int, proc: subprocess.Popen[str], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if health(port) == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("simulator did not become ready")
