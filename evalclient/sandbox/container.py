"""The container sandbox: a throw-away Docker container per batch of programs.

The container has no network, a read-only root filesystem, one small tmpfs (/sandbox, the programs' working
folders), memory, CPU and process limits, no-new-privileges, and carries the suite's labels
(evalclient.managed and the owner labels), so `evalclient cleanup` and the next run remove one that a killed
suite left behind. Inside, the batch runner is PID 1, root of the container with only the capabilities it
needs to give every program slot a user id of its own (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, KILL;
everything else dropped). The programs run under those slot uids with no capability at all: they cannot signal
the runner or each other (a program's `kill(-1)` reaches only its own processes), RLIMIT_NPROC caps each one's
fork bomb, and whatever a program leaves behind is killed by uid when it finishes. Each batch draws its slot
uids at random far above any account, so two sandboxes at once share none. Blocking Docker calls;
`DockerSandbox.run` runs them off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from evalclient.config import SandboxSettings
from evalclient.deploy.ownership import owner_labels
from evalclient.errors import EngineError
from evalclient.sandbox.batch import (
    BatchOutput,
    batch_input,
    new_nonce,
    parse_output,
    run_batches,
    runner_source,
)
from evalclient.sandbox.local import batch_deadline
from evalclient.tasks.context import ExecutionResult, Program

ROLE_LABEL = "evalclient.role"
SANDBOX_USER = "0:0"
RUNNER_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"]
SLOT_UID_BASE = 2_100_000_000
SLOT_UID_DRAWS = 1_000_000
SLOT_UID_STRIDE = 1024
"""Slot uids of a batch: SLOT_UID_BASE + a random draw times the stride, one per parallel slot."""
WORKDIR = "/sandbox"
TMPFS_MB = 64
BATCH_SIZE = 512
RUNNER_MB = 256
CONFLICT = 409
KILLED = 137
log = logging.getLogger("evalclient.sandbox")


class DockerSandbox:
    """Programs in throw-away containers of `image` (python3 on PATH), `parallel` at a time inside."""

    def __init__(self, client: Any, image: str, settings: SandboxSettings, run_id: str, cpus: int) -> None:
        self.client = client
        self.image = image
        self.settings = settings
        self.run_id = run_id
        self.parallel = min(settings.parallel or cpus, SLOT_UID_STRIDE)

    @property
    def timeout_s(self) -> float:
        return self.settings.timeout_s

    @property
    def name(self) -> str:
        return f"docker:{self.image}"

    async def run(self, programs: Sequence[Program], timeout_s: float | None = None) -> list[ExecutionResult]:
        timeout = timeout_s or self.settings.timeout_s

        async def one_batch(batch: Sequence[Program]) -> BatchOutput:
            return await asyncio.to_thread(self.run_batch, batch, timeout)

        return await run_batches(programs, one_batch, BATCH_SIZE)

    def run_batch(self, programs: Sequence[Program], timeout_s: float) -> BatchOutput:
        """One container for `programs`: created, fed the batch on stdin, waited for, read, removed.

        Past creation no Docker error escapes: a container that dies, is killed, vanishes or whose output the
        engine will not return (409 "dead or marked for removal") ends the batch with the reason as its
        `failure`; the programs it reported keep their results and `run_batches` gives the rest theirs."""
        nonce = new_nonce()
        payload = batch_input(
            programs,
            nonce=nonce,
            settings=self.settings,
            timeout_s=timeout_s,
            parallel=self.parallel,
            workdir=WORKDIR,
            uid_base=slot_uid_base(),
            strays="uid",
        )
        limit = batch_deadline(len(programs), self.parallel, timeout_s)
        try:
            container_id = self._create()
        except BatchLost as lost:
            return BatchOutput(failure=str(lost))
        text, failure = "", None
        try:
            failure = self._start_with_input(container_id, payload) or self._wait(container_id, limit)
            text, unread = self._logs(container_id)
            failure = failure or unread
        finally:
            self._remove(container_id)
        output = parse_output(text, nonce)
        if len(output.results) < len(programs):
            output.failure = failure or "the sandbox container ended before reporting every program"
        return output

    def _create(self) -> str:
        import docker.errors

        api = self.client.api
        memory = f"{self.settings.memory_mb * self.parallel + RUNNER_MB}m"
        host_config = api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={WORKDIR: f"rw,nosuid,nodev,size={TMPFS_MB}m,mode=1777"},
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(self.parallel * 1e9),
            pids_limit=self.settings.processes + 8 * self.parallel + 16,
            cap_drop=["ALL"],
            cap_add=RUNNER_CAPABILITIES,
            security_opt=["no-new-privileges"],
        )
        try:
            created = api.create_container(
                self.image,
                command=["python3", "-I", "-c", runner_source()],
                user=SANDBOX_USER,
                environment={"LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"},
                labels={**owner_labels(self.run_id), ROLE_LABEL: "sandbox"},
                name=f"evalclient-sandbox-{uuid.uuid4().hex[:12]}",
                stdin_open=True,
                network_disabled=True,
                host_config=host_config,
            )
        except docker.errors.APIError as exc:
            if isinstance(exc, docker.errors.NotFound) or (
                exc.is_client_error() and exc.status_code != CONFLICT
            ):
                raise EngineError(
                    f"Docker refused the code sandbox container ({self.image}): {exc.explanation or exc}",
                    "check the image (sandbox.image in sweep.yaml, or EVALCLIENT_SANDBOX_IMAGE), "
                    "or set EVALCLIENT_SANDBOX=subprocess",
                ) from None
            raise BatchLost(f"Docker could not create the sandbox container: {_why(exc)}") from None
        except DOCKER_FAULTS as exc:
            raise BatchLost(f"Docker could not create the sandbox container: {_why(exc)}") from None
        return str(created["Id"])

    def _start_with_input(self, container_id: str, payload: bytes) -> str | None:
        """Attach to stdin, start, send the batch and close stdin (stdin_once ends it for the runner); the
        reason when the container could not be started (a runner that dies while reading is not one)."""
        api = self.client.api
        try:
            stream = api.attach_socket(container_id, params={"stdin": 1, "stream": 1})
        except DOCKER_FAULTS as exc:
            return f"Docker could not attach to the sandbox container: {_why(exc)}"
        raw = getattr(stream, "_sock", stream)
        try:
            api.start(container_id)
        except DOCKER_FAULTS as exc:
            return f"Docker could not start the sandbox container: {_why(exc)}"
        else:
            with contextlib.suppress(OSError):  # the runner is gone: its logs tell what it did
                raw.sendall(payload)
                raw.shutdown(socket.SHUT_WR)
        finally:
            with contextlib.suppress(Exception):
                stream.close()
        return None

    def _wait(self, container_id: str, limit: float) -> str | None:
        """Wait for the runner to finish; kill the container past `limit` seconds (the reason, or None).

        A runner that was killed (the out-of-memory killer, a lost container) is reported with its status."""
        try:
            status = self.client.api.wait(container_id, timeout=limit)
        except DOCKER_FAULTS as exc:
            with contextlib.suppress(Exception):
                self.client.api.kill(container_id)
            if isinstance(exc, docker_errors().NotFound):
                return f"the sandbox container vanished while its programs ran: {_why(exc)}"
            return f"the sandbox container did not finish within {limit:.0f} s"
        code = status.get("StatusCode") if isinstance(status, dict) else None
        if code not in (0, None):
            return f"the sandbox runner ended with status {code}" + (
                " (killed: out of memory, or the container was stopped)" if code == KILLED else ""
            )
        return None

    def _logs(self, container_id: str) -> tuple[str, str | None]:
        """The runner's stdout, and why it could not be read (a dead or removed container)."""
        try:
            logs = self.client.api.logs(container_id, stdout=True, stderr=False)
        except DOCKER_FAULTS as exc:
            return "", f"Docker could not return the sandbox container's output: {_why(exc)}"
        return bytes(logs).decode("utf-8", "replace"), None

    def _remove(self, container_id: str) -> None:
        """Remove the container; one Docker will not remove now is left to `evalclient cleanup` (labelled)."""
        try:
            self.client.api.remove_container(container_id, force=True, v=True)
        except DOCKER_FAULTS as exc:
            if not isinstance(exc, docker_errors().NotFound):
                log.warning(
                    "code sandbox: container %s not removed (%s); `evalclient cleanup` removes it",
                    container_id[:12],
                    _why(exc),
                )


def slot_uid_base() -> int:
    """The first slot uid of a batch, drawn at random (a batch has at most SLOT_UID_STRIDE slots)."""
    return SLOT_UID_BASE + secrets.randbelow(SLOT_UID_DRAWS) * SLOT_UID_STRIDE


class BatchLost(Exception):
    """A batch container that could not be created for a passing reason (its programs get the reason)."""


def docker_errors() -> Any:
    import docker.errors

    return docker.errors


def _docker_faults() -> tuple[type[BaseException], ...]:
    """What a Docker call raises when the engine or the container fails it: the SDK's errors, the HTTP
    client's (a dropped or timed-out connection), and the socket's."""
    import requests

    return (docker_errors().DockerException, requests.exceptions.RequestException, OSError)


DOCKER_FAULTS = _docker_faults()


def _why(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc or type(exc).__name__).strip()
