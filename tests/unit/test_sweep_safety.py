"""The pieces that keep an overnight sweep safe: checkpoints, the folder lock, port leases, ownership of
containers, the health gate and how a container's end is described."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest

from evalclient.client.health import HealthGate
from evalclient.deploy.container import describe_exit
from evalclient.deploy.docker_engine import ContainerState
from evalclient.deploy.ownership import (
    HOST_LABEL,
    PID_LABEL,
    START_LABEL,
    owner_alive,
    owner_known_alive,
    owner_labels,
)
from evalclient.deploy.ports import PortLease
from evalclient.errors import RunInProgressError
from evalclient.results.checkpoint import Checkpoint
from evalclient.results.lock import RunLock


def test_checkpoint_round_trip_and_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    first = Checkpoint(path, "fp1")
    first.append({"id": "0", "answer": "a"})
    first.append({"id": "1", "answer": "b"})
    first.close()
    with path.open("a") as handle:
        handle.write('{"id": "2", "ans')  # the suite died in the middle of a line
    again = Checkpoint(path, "fp1")
    assert again.load() == [{"id": "0", "answer": "a"}, {"id": "1", "answer": "b"}]
    again.append({"id": "2", "answer": "c"})
    again.close()
    assert [row["id"] for row in Checkpoint(path, "fp1").load()] == ["0", "1", "2"]


def test_checkpoint_of_another_fingerprint_is_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    old = Checkpoint(path, "old")
    old.append({"id": "0"})
    old.close()
    assert Checkpoint(path, "new").load() == []
    assert not path.exists()


def test_a_second_process_cannot_take_a_held_folder(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from evalclient.results.lock import RunLock
        with RunLock(Path({str(tmp_path)!r}), "run-A"):
            print("held", flush=True)
            sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunInProgressError) as caught, RunLock(tmp_path, "run-B"):
            pass
        assert (
            f"another evalclient run is writing to {tmp_path.resolve()} (run run-A, pid {holder.pid})"
            in str(caught.value)
        )
    finally:
        holder.communicate("\n", timeout=10)
    with RunLock(tmp_path, "run-B"), RunLock(tmp_path, "run-B"):  # free again, and re-entrant in one process
        assert json.loads((tmp_path / ".evalclient.lock").read_text())["run_id"] == "run-B"
    assert (tmp_path / ".evalclient.lock").read_text() == ""  # released: it names no holder any more


def test_port_leases_are_distinct_and_exclude_other_processes(tmp_path: Path) -> None:
    with PortLease(lock_dir=tmp_path) as first, PortLease(lock_dir=tmp_path) as second:
        assert first.port != second.port
        lock = str(tmp_path / f"{first.port}.lock")
        code = (
            f"import fcntl,os; fd=os.open({lock!r}, os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX|fcntl.LOCK_NB)"
        )
        taken = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert taken.returncode == 1
        assert "BlockingIOError" in taken.stderr
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", first.port))  # leased, not bound: the server can take it


def test_ownership_tells_orphans_from_live_runs() -> None:
    mine = owner_labels("run-1")
    assert owner_alive(mine)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not owner_alive({**mine, PID_LABEL: str(dead.pid)})
    assert not owner_alive({**mine, START_LABEL: "1"})  # the PID was reused by another process
    assert owner_alive({**mine, HOST_LABEL: "another-host", PID_LABEL: str(dead.pid)})  # not ours to judge
    assert owner_alive({"evalclient.managed": "true"})  # no owner labels: the reaper leaves it alone
    assert not owner_known_alive({"evalclient.managed": "true"})  # ... and `cleanup` removes it
    assert owner_known_alive(mine)
    assert mine[PID_LABEL] == str(os.getpid())


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            ContainerState("exited", 137, oom_killed=True),
            "container c was killed for running out of memory (OOMKilled, exit code 137)",
        ),
        (ContainerState("exited", 137), "container c exited with code 137 (killed by SIGKILL)"),
        (ContainerState("exited", 143), "container c exited with code 143 (killed by SIGTERM)"),
        (ContainerState("exited", 1), "container c exited with exit code 1"),
        (ContainerState("gone"), "container c was removed"),
    ],
)
def test_how_a_container_ended(state: ContainerState, expected: str) -> None:
    assert describe_exit("c", state, "") == expected
    assert (
        describe_exit("c", state, "a\n\nb\nCUDA out of memory\n")
        == f"{expected}; last log lines: a | b | CUDA out of memory"
    )


async def test_health_gate_probes_only_after_a_run_of_failures(serve_app: object) -> None:
    from aiohttp import web

    healthy = {"value": True}
    probes: list[int] = []

    async def health(_request: web.Request) -> web.Response:
        probes.append(1)
        return web.Response(status=200 if healthy["value"] else 503)

    app = web.Application()
    app.router.add_get("/health", health)
    url = await serve_app(app)  # type: ignore[operator]
    deaths: list[str] = []
    async with aiohttp.ClientSession() as session:
        gate = HealthGate(session, url + "/health", deaths.append, threshold=3, probes=2, interval_s=0.05)
        gate.failed()
        gate.failed()
        gate.answered()  # one answer resets the run
        gate.failed()
        gate.failed()
        await asyncio.sleep(0.1)
        assert probes == []  # two in a row since the reset: no health check yet
        gate.failed()  # the third in a row: a probe, which finds the server healthy
        await asyncio.sleep(0.2)
        assert probes
        assert (deaths, gate.failures) == ([], 0)
        healthy["value"] = False
        for _ in range(3):
            gate.failed()
        await asyncio.sleep(0.3)
        await gate.close()
    assert len(deaths) == 1
    assert deaths[0].startswith("the server stopped answering: 3 requests in a row")
