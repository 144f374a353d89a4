"""A stand-in for Docker where no engine is reachable: the simulator as a local process, same interface.

The simulator is told to exit when its parent does (`--exit-with-parent`), so a suite killed with SIGKILL
leaves no simulator behind.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from evalclient.deploy.docker_engine import ContainerState, RunningContainer
from evalclient.engines.base import LaunchSpec


@dataclass
class _Process:
    args: list[str]
    log_file: Path
    proc: subprocess.Popen[bytes] | None = None


class LocalSimulatorEngine:
    """Runs `python -m evalclient.sim` with the adapter's TGI flags instead of a container."""

    host_gpus = False
    """Processes on the CPU: the GPUs of a run only name its slots."""

    def __init__(self) -> None:
        self._procs: dict[str, _Process] = {}

    def prepare(self, folders: Mapping[str, Path | None]) -> list[str]:
        """Nothing to check: processes see this host's paths, and die with the run that started them."""
        return []

    def ensure_image(self, image: str) -> None:
        return None

    def image_id(self, image: str) -> str | None:
        return "local"

    def image_env(self, image: str) -> dict[str, str] | None:
        return None

    def container_probe(self, container: RunningContainer) -> None:
        return None

    def create(
        self,
        spec: LaunchSpec,
        *,
        name: str,
        labels: dict[str, str],
        gpus: list[int] | None,
        cache_dir: Path | None,
        memory_limit: str | None = None,
    ) -> RunningContainer:
        log_file = Path(tempfile.mkstemp(prefix=f"{name}.", suffix=".log")[1])
        args = [sys.executable, "-m", "evalclient.sim", *spec.args, "--exit-with-parent"]
        self._procs[name] = _Process(args, log_file)
        return RunningContainer(
            id=name, name=name, image="local:evalclient.sim", image_id="local", image_digests=(), spec=spec
        )

    def start(self, container_id: str) -> None:
        entry = self._procs[container_id]
        with entry.log_file.open("wb") as sink:
            entry.proc = subprocess.Popen(entry.args, stdout=sink, stderr=subprocess.STDOUT)

    def state(self, container_id: str) -> ContainerState:
        entry = self._procs.get(container_id)
        if entry is None:
            return ContainerState("gone")
        if entry.proc is None:
            return ContainerState("created")
        code = entry.proc.poll()
        return ContainerState("running") if code is None else ContainerState("exited", code)

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        entry = self._procs.get(container_id)
        if entry is None:
            return ""
        text = entry.log_file.read_text(encoding="utf-8", errors="replace")
        return text if tail == "all" else "\n".join(text.splitlines()[-int(tail) :])

    def remove(self, container_id: str, timeout_s: int = 10) -> None:
        entry = self._procs.pop(container_id, None)
        if entry is None:
            return
        if entry.proc is not None:
            entry.proc.terminate()
            try:
                entry.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                entry.proc.kill()
                entry.proc.wait()
        entry.log_file.unlink(missing_ok=True)
