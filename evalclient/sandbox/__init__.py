"""The code sandbox that runs the model's programs, chosen automatically on first use.

`choose_sandbox(settings, run_id)` is the one factory the runner, offline scoring and the CLI use. It returns
an `AutoSandbox` that starts nothing until a scorer runs its first program: then a Docker engine that
answers gives the container sandbox (`docker:<image>`), and without one the programs run as local
subprocesses (`subprocess (weaker isolation)`, with a warning). `kind` (`auto`, `docker`, `subprocess`) and
`image` come from presets/sweep.yaml's `sandbox:` section, overridden by EVALCLIENT_SANDBOX and
EVALCLIENT_SANDBOX_IMAGE. The default image is the offline base image evalclient-base:bookworm (built from a
Debian mirror when missing); any image with python3 on PATH works, e.g. a pinned python:3.11-slim.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Sequence

from evalclient.config import SandboxSettings
from evalclient.errors import EngineError, EnvironmentProblem, UsageError
from evalclient.tasks.context import CodeSandbox, ExecutionResult, Program

__all__ = ["AutoSandbox", "choose_sandbox", "sandbox_settings"]
log = logging.getLogger("evalclient.sandbox")

KIND_ENV = "EVALCLIENT_SANDBOX"
IMAGE_ENV = "EVALCLIENT_SANDBOX_IMAGE"
KINDS = ("auto", "docker", "subprocess")
NOT_USED = "none (not used)"


def sandbox_settings(settings: SandboxSettings | None = None) -> SandboxSettings:
    """The settings with EVALCLIENT_SANDBOX / EVALCLIENT_SANDBOX_IMAGE applied."""
    base = settings or SandboxSettings()
    kind = os.environ.get(KIND_ENV, "").strip().lower()
    image = os.environ.get(IMAGE_ENV, "").strip()
    if kind and kind not in KINDS:
        raise UsageError(f"{KIND_ENV}={kind!r} is not a sandbox kind", f"use one of {', '.join(KINDS)}")
    updates = {"kind": kind} if kind else {}
    if image:
        updates["image"] = image
    return base.model_copy(update=updates) if updates else base


def choose_sandbox(settings: SandboxSettings | None = None, run_id: str | None = None) -> AutoSandbox:
    """The sandbox of a run or a scoring pass; nothing is started before a program runs."""
    return AutoSandbox(sandbox_settings(settings), run_id or f"score-{uuid.uuid4().hex[:8]}")


class AutoSandbox:
    """Picks the container or the subprocess sandbox on first use, then runs every batch there."""

    def __init__(self, settings: SandboxSettings, run_id: str) -> None:
        self.settings = settings
        self.run_id = run_id
        self._chosen: CodeSandbox | None = None
        self._lock = asyncio.Lock()

    @property
    def timeout_s(self) -> float:
        return self.settings.timeout_s

    @property
    def name(self) -> str:
        return self._chosen.name if self._chosen is not None else NOT_USED

    @property
    def started(self) -> bool:
        return self._chosen is not None

    async def run(self, programs: Sequence[Program], timeout_s: float | None = None) -> list[ExecutionResult]:
        if not programs:
            return []
        async with self._lock:
            if self._chosen is None:
                self._chosen = await asyncio.to_thread(self._choose)
        return await self._chosen.run(programs, timeout_s)

    def _choose(self) -> CodeSandbox:
        from evalclient.sandbox.local import SubprocessSandbox

        if self.settings.kind != "subprocess":
            try:
                return self._docker()
            except (EnvironmentProblem, EngineError) as exc:
                if self.settings.kind == "docker":
                    raise
                log.warning(
                    "code sandbox: no Docker engine (%s); the model's programs run as local subprocesses, a "
                    "weaker isolation than a container",
                    exc.message,
                )
        return SubprocessSandbox(self.settings)

    def _docker(self) -> CodeSandbox:
        from evalclient.deploy.docker_engine import DockerEngine, connect
        from evalclient.host.sim_image import BASE_IMAGE, ensure_base_image
        from evalclient.sandbox.container import DockerSandbox

        client = connect()
        image = self.settings.image or BASE_IMAGE
        if image == BASE_IMAGE:
            ensure_base_image(client)
        else:
            DockerEngine(client).ensure_image(image)
        cpus = len(os.sched_getaffinity(0))
        return DockerSandbox(client, image, self.settings, self.run_id, cpus)
