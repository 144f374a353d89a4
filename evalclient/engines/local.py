"""A stand-in for Docker where no engine is reachable: the simulator as a local process, same interface."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from evalclient.engines.base import LaunchSpec
from evalclient.engines.docker import RunningContainer


class LocalSimulatorEngine:
    """Runs `python -m evalclient.sim` with the adapter's TGI flags instead of a container."""

    def __init__(self) -> None:
        self._procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(
        self, spec: LaunchSpec, *, name: str, labels: dict[str, str], gpus: list[int] | None, cache_dir: Path
    ) -> RunningContainer:
        log_file = Path(tempfile.mkstemp(prefix=f"{name}.", suffix=".log")[1])
        with log_file.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "evalclient.sim", *spec.args], stdout=sink, stderr=subprocess.STDOUT
            )
        self._procs[name] = (proc, log_file)
        return RunningContainer(
            id=name, name=name, image="local:evalclient.sim", image_id="local", image_digests=(), spec=spec
        )

    def state(self, container_id: str) -> tuple[str, int | None]:
        if container_id not in self._procs:
            return "gone", None
        code = self._procs[container_id][0].poll()
        return ("running", None) if code is None else ("exited", code)

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        if container_id not in self._procs:
            return ""
        text = self._procs[container_id][1].read_text(encoding="utf-8", errors="replace")
        return text if tail == "all" else "\n".join(text.splitlines()[-int(tail) :])

    def stop(self, container_id: str, timeout_s: int = 10) -> None:
        entry = self._procs.pop(container_id, None)
        if entry is None:
            return
        proc, log_file = entry
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.unlink(missing_ok=True)
