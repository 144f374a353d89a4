"""The container sandbox: a throw-away Docker container per batch of programs.

The container has no network, a read-only root filesystem, one small tmpfs (/sandbox, the programs' working
folders), memory, CPU and process limits, runs as nobody (65534) with every capability dropped and
no-new-privileges, and carries the suite's labels (evalclient.managed and the owner labels), so `evalclient
cleanup` and the next run remove one that a killed suite left behind. Inside, the batch runner is PID 1: the
programs cannot signal it, and whatever they leave behind is killed when it finishes them and when the
container is removed. Blocking Docker calls; `DockerSandbox.run` runs them off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
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
SANDBOX_USER = "65534:65534"
WORKDIR = "/sandbox"
TMPFS_MB = 64
BATCH_SIZE = 512
RUNNER_MB = 256


class DockerSandbox:
    """Programs in throw-away containers of `image` (python3 on PATH), `parallel` at a time inside."""

    def __init__(self, client: Any, image: str, settings: SandboxSettings, run_id: str, cpus: int) -> None:
        self.client = client
        self.image = image
        self.settings = settings
        self.run_id = run_id
        self.parallel = settings.parallel or cpus

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
        """One container for `programs`: created, fed the batch on stdin, waited for, read, removed."""
        nonce = new_nonce()
        payload = batch_input(
            programs,
            nonce=nonce,
            settings=self.settings,
            timeout_s=timeout_s,
            parallel=self.parallel,
            workdir=WORKDIR,
            strays="container",
        )
        limit = batch_deadline(len(programs), self.parallel, timeout_s)
        container_id = self._create()
        try:
            self._start_with_input(container_id, payload)
            failure = self._wait(container_id, limit)
            logs = self.client.api.logs(container_id, stdout=True, stderr=False)
            output = parse_output(bytes(logs).decode("utf-8", "replace"), nonce)
        finally:
            with contextlib.suppress(Exception):
                self.client.api.remove_container(container_id, force=True, v=True)
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
            raise EngineError(
                f"Docker refused the code sandbox container ({self.image}): {exc.explanation or exc}",
                "check the image (sandbox.image in sweep.yaml, or EVALCLIENT_SANDBOX_IMAGE), "
                "or set EVALCLIENT_SANDBOX=subprocess",
            ) from None
        return str(created["Id"])

    def _start_with_input(self, container_id: str, payload: bytes) -> None:
        """Attach to stdin, start, send the batch and close stdin (stdin_once ends it for the runner)."""
        api = self.client.api
        stream = api.attach_socket(container_id, params={"stdin": 1, "stream": 1})
        raw = getattr(stream, "_sock", stream)
        try:
            api.start(container_id)
            raw.sendall(payload)
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_WR)
        finally:
            with contextlib.suppress(Exception):
                stream.close()

    def _wait(self, container_id: str, limit: float) -> str | None:
        """Wait for the runner to finish; kill the container past `limit` seconds (the reason, or None)."""
        try:
            self.client.api.wait(container_id, timeout=limit)
        except Exception:  # requests' ReadTimeout, or a connection the engine dropped
            with contextlib.suppress(Exception):
                self.client.api.kill(container_id)
            return f"the sandbox container did not finish within {limit:.0f} s"
        return None
