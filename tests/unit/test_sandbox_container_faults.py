"""The container sandbox when Docker fails it: every program still gets a verdict and nothing escapes.

Docker is the edge we do not own, so a stand-in client plays it: each "container" runs the real batch runner
(runner.py, as a local process in a scratch folder) on the batch it was sent, and any call can be made to
fail the way the engine fails it: 409 "dead or marked for removal" from logs, a container that vanishes
while waited for, a start refused, a create that fails for a passing reason, a remove that will not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import requests

from evalclient.config import SandboxSettings
from evalclient.errors import EngineError
from evalclient.sandbox.batch import runner_source
from evalclient.sandbox.container import DockerSandbox
from evalclient.tasks.context import Program

PASSING = Program("def add(a, b):\n    return a + b\n", "assert add(2, 3) == 5\n")
FAILING = Program("def add(a, b):\n    return a - b\n", "assert add(2, 3) == 5\n")
DEAD = "can not get logs from container which is dead or marked for removal"
Fault = Callable[[], BaseException]


def api_error(
    status: int, explanation: str, kind: type[docker.errors.APIError] = docker.errors.APIError
) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return kind(f"{status} Client Error", response=response, explanation=explanation)


class FakeSocket:
    def __init__(self, sink: bytearray) -> None:
        self.sink = sink

    def sendall(self, data: bytes) -> None:
        self.sink.extend(data)

    def shutdown(self, how: int) -> None:
        pass

    def close(self) -> None:
        pass


class FakeAPI:
    """Docker's low-level API for the sandbox's calls; `faults[call]` lists faults for its next calls."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.faults: dict[str, list[Fault | None]] = {}
        self.stdin: dict[str, bytearray] = {}
        self.stdout: dict[str, bytes] = {}
        self.calls: list[str] = []
        self.keep_results: int | None = None
        """Runner output kept per container (the rest lost, as when a container is killed mid-batch)."""

    def _call(self, name: str) -> None:
        self.calls.append(name)
        queue = self.faults.get(name)
        if queue:
            fault = queue.pop(0)
            if fault is not None:
                raise fault()

    def create_host_config(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def create_container(self, image: str, **kwargs: Any) -> dict[str, str]:
        self._call("create")
        container_id = f"c{len(self.stdin)}"
        self.stdin[container_id] = bytearray()
        return {"Id": container_id}

    def attach_socket(self, container_id: str, params: dict[str, int]) -> FakeSocket:
        self._call("attach")
        return FakeSocket(self.stdin[container_id])

    def start(self, container_id: str) -> None:
        self._call("start")

    def wait(self, container_id: str, timeout: float) -> dict[str, int]:
        self._call("wait")
        batch = json.loads(bytes(self.stdin[container_id]))
        workdir = self.scratch / container_id
        workdir.mkdir()
        # the runner as a local process: its own folder, no slot uids, only its own process groups killed
        batch.update(workdir=str(workdir), strays="group", python=sys.executable, uid_base=None)
        done = subprocess.run(
            [sys.executable, "-I", "-c", runner_source()],
            input=json.dumps(batch).encode(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        lines = done.stdout.splitlines(keepends=True)
        if self.keep_results is not None:
            results = [i for i, line in enumerate(lines) if b'"event": "result"' in line]
            lines = lines[: results[self.keep_results]] if self.keep_results < len(results) else lines
            self.stdout[container_id] = b"".join(lines)
            return {"StatusCode": 137}
        self.stdout[container_id] = b"".join(lines)
        return {"StatusCode": done.returncode}

    def logs(self, container_id: str, stdout: bool, stderr: bool) -> bytes:
        self._call("logs")
        return self.stdout.get(container_id, b"")

    def kill(self, container_id: str) -> None:
        self._call("kill")

    def remove_container(self, container_id: str, force: bool, v: bool) -> None:
        self._call("remove")


class FakeClient:
    def __init__(self, scratch: Path) -> None:
        self.api = FakeAPI(scratch)


@pytest.fixture
def client(tmp_path: Path) -> FakeClient:
    return FakeClient(tmp_path)


def _sandbox(client: FakeClient) -> DockerSandbox:
    return DockerSandbox(client, "img", SandboxSettings(kind="docker", timeout_s=5.0), "run-x", cpus=2)


PROGRAMS = [PASSING, FAILING, PASSING, FAILING]
CLEAN = ["passed", "failed", "passed", "failed"]


async def test_without_faults_every_program_runs_in_one_container(client: FakeClient) -> None:
    results = await _sandbox(client).run(PROGRAMS)
    assert [r.status for r in results] == CLEAN
    assert client.api.calls == ["create", "attach", "start", "wait", "logs", "remove"]


@pytest.mark.parametrize(
    ("call", "fault"),
    [
        ("logs", lambda: api_error(409, DEAD)),
        ("wait", lambda: api_error(404, "No such container: c0", docker.errors.NotFound)),
        ("wait", lambda: requests.exceptions.ConnectionError("connection aborted")),
        ("start", lambda: api_error(409, "container c0 is marked for removal and cannot be started")),
        ("attach", lambda: api_error(500, "attach failed")),
        ("create", lambda: api_error(500, "mount failed")),
        ("create", lambda: api_error(409, "removal of container is already in progress")),
    ],
)
async def test_a_lost_container_costs_no_verdict(client: FakeClient, call: str, fault: Fault) -> None:
    """The first container fails; its programs run again one per container and keep their real verdicts."""
    client.api.faults[call] = [fault]
    results = await _sandbox(client).run(PROGRAMS)
    assert [r.status for r in results] == CLEAN


async def test_a_container_that_never_answers_gives_each_program_the_reason(client: FakeClient) -> None:
    client.api.faults["logs"] = [lambda: api_error(409, DEAD)] * 5
    results = await _sandbox(client).run(PROGRAMS)
    assert [(r.status, r.error) for r in results] == [
        ("sandbox_error", f"Docker could not return the sandbox container's output: {DEAD}")
    ] * 4
    assert client.api.calls.count("remove") == 5  # the batch, then each program alone: none left behind


async def test_programs_a_killed_container_reported_keep_their_verdicts(client: FakeClient) -> None:
    client.api.keep_results = 2
    sandbox = _sandbox(client)
    results = await sandbox.run(PROGRAMS)
    # the first two were reported before the kill; the other two ran again, one container each
    assert [r.status for r in results] == ["passed", "failed", "passed", "failed"]
    assert client.api.calls.count("create") == 3
    client.api.keep_results = 0
    (lost,) = await sandbox.run([PASSING])
    assert (lost.status, lost.error) == (
        "sandbox_error",
        "the sandbox runner ended with status 137 (killed: out of memory, or the container was stopped)",
    )


async def test_a_container_docker_will_not_remove_keeps_the_verdicts(
    client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.api.faults["remove"] = [lambda: api_error(409, "removal already in progress")]
    results = await _sandbox(client).run(PROGRAMS)
    assert [r.status for r in results] == CLEAN
    assert "container c0 not removed (removal already in progress); `evalclient cleanup` removes it" in (
        caplog.text
    )


async def test_an_image_docker_refuses_is_the_users_to_fix(client: FakeClient) -> None:
    client.api.faults["create"] = [lambda: api_error(404, "No such image: img", docker.errors.ImageNotFound)]
    with pytest.raises(EngineError, match=r"Docker refused the code sandbox container \(img\)"):
        await _sandbox(client).run(PROGRAMS)
