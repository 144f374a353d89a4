"""The stand-in NVIDIA driver for tests: build libnvidia-ml.so.1 from nvml_standin.c, script its readings,
and run evalclient's monitor against it through the real nvidia-ml-py in a subprocess.

    lib_dir = build_library(tmp)                       # gcc -shared -fPIC ... -o tmp/libnvidia-ml.so.1
    script = Script(count=1).gpu(0, utilization=[40, 50, err(15)], power=[250_000])
    result = run_harness(lib_dir, script, {"scenario": "sample", "gpus": [0], "ticks": 3}, tmp)

The library is loaded the way pynvml loads the real one (`CDLL("libnvidia-ml.so.1")`, found through
LD_LIBRARY_PATH), which is why it only ever runs in a child process: a pytest process that also runs the
tests/gpu tier must keep the real driver.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "nvml_standin.c"
HARNESS = HERE / "harness.py"
LIBRARY = "libnvidia-ml.so.1"

NOT_SUPPORTED, DRIVER_NOT_LOADED, FUNCTION_NOT_FOUND, GPU_IS_LOST = 3, 9, 13, 15


class CompilerMissing(RuntimeError):
    """No C compiler on this machine (gcc or cc, or $CC)."""


def compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")


def build_library(out_dir: Path) -> Path:
    """Compile the stand-in into out_dir/libnvidia-ml.so.1 (once per source version); returns out_dir."""
    cc = compiler()
    if cc is None:
        raise CompilerMissing("no C compiler found (install gcc or set CC)")
    out_dir.mkdir(parents=True, exist_ok=True)
    library = out_dir / LIBRARY
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    stamp = out_dir / f".{LIBRARY}.sha256"
    if library.exists() and stamp.exists() and stamp.read_text() == digest:
        return out_dir
    command = [
        cc,
        *("-shared", "-fPIC", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror"),
        *("-D_POSIX_C_SOURCE=200809L", f"-Wl,-soname,{LIBRARY}", "-o", str(library), str(SOURCE), "-pthread"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the NVML stand-in failed: {' '.join(command)}\n{done.stderr}")
    stamp.write_text(digest)
    return out_dir


def err(code: int) -> str:
    """A scripted NVML return code, e.g. err(15): GPU is lost."""
    return f"!{code}"


def memory(total: int, reserved: int, used: int) -> str:
    """One memory reading in bytes (v2 semantics: `used` leaves out `reserved`)."""
    return f"{total}/{reserved}/{used}"


def processes(*running: tuple[int, int | None]) -> str:
    """One process-list reading: (pid, bytes) pairs, bytes None for 'not available'; none at all is '-'."""
    return ",".join(f"{pid}:{'na' if used is None else used}" for pid, used in running) or "-"


class Script:
    """The readings file the stand-in reads at nvmlInit (see nvml_standin.c for the format)."""

    def __init__(self, count: int, *, init: Sequence[int | str] = ()) -> None:
        self.lines = [f"count {count}"]
        if init:
            self.lines.append("init " + " ".join(str(e) for e in init))

    def gpu(self, index: int, *, name: str | None = None, **series: Iterable[object]) -> Script:
        """Readings of `index`: keyword = script key (memory, utilization, power, processes_v3, ...)."""
        if name is not None:
            self.lines.append(f"name {index} {name}")
        for key, entries in series.items():
            self.lines.append(f"{key} {index} " + " ".join(str(e) for e in entries))
        return self

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def standin_env(lib_dir: Path, script_path: Path, calls_path: Path | None = None) -> dict[str, str]:
    """The environment of a child process that loads the stand-in instead of any real driver."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(lib_dir), env.get("LD_LIBRARY_PATH")) if p)
    env["NVML_STANDIN_SCRIPT"] = str(script_path)
    if calls_path is not None:
        env["NVML_STANDIN_CALLS"] = str(calls_path)
    return env


def run_harness(
    lib_dir: Path, script: Script | None, request: Mapping[str, Any], work: Path, *, timeout_s: float = 60
) -> dict[str, Any]:
    """Run tests/nvml_standin/harness.py with `request` against the stand-in; its JSON answer.

    The answer carries `calls`: {function: {gpu: count}} of the last NVML session (gpu -1: none).
    """
    work.mkdir(parents=True, exist_ok=True)
    script_path = work / "nvml_script.txt"
    if script is not None:
        script_path.write_text(script.text())
    calls_path = work / "nvml_calls.txt"
    calls_path.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, str(HARNESS), json.dumps(dict(request))],
        env=standin_env(lib_dir, script_path, calls_path),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"harness failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    answer["calls"] = read_calls(calls_path)
    return answer


def read_calls(path: Path) -> dict[str, dict[int, int]]:
    """The stand-in's call counts of its last NVML session."""
    if not path.exists():
        return {}
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        return {}
    last = max(int(parts[0]) for parts in lines)
    counts: dict[str, dict[int, int]] = {}
    for session, function, gpu, count in lines:
        if int(session) == last:
            counts.setdefault(function, {})[int(gpu)] = int(count)
    return counts


def gpu_samples(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The harness's JSON samples back as `GpuSample`s (to aggregate them in the test process)."""
    from evalclient.monitor.nvml import GpuSample
    from evalclient.monitor.nvml_device import GpuProcess

    out = []
    for row in rows:
        procs = row["processes"]
        out.append(
            GpuSample(
                **{
                    **row,
                    "processes": None if procs is None else tuple(GpuProcess(**p) for p in procs),
                    "errors": tuple((name, why) for name, why in row["errors"]),
                }
            )
        )
    return out
