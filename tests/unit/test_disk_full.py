"""A full disk: one line naming the folder and its free space, exit 1, the manifest closed as failed, and an
exact resume once there is room again. The disk is a real, tiny tmpfs (mounting one needs root: skipped
without)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_process import start_sim, wait_ready

from evalclient.errors import DiskFullError
from evalclient.results.disk_full import full_disk_cause
from evalclient.sweep.demo import demo_data_dir


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mount)], check=False)
    if made.returncode != 0:
        pytest.skip("this machine cannot mount a tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _run(sim: str, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "evalclient", "run", "--endpoint", sim, "--models", "qwen2.5_8b",
               "--presets", "balanced", "--datasets", "gsm8k,arc_challenge:generative", "--samples", "12",
               "--output", str(out), "--data-dir", str(demo_data_dir())]  # fmt: skip
    env = {**os.environ, "EVALCLIENT_SANDBOX": "subprocess"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)


def test_a_full_disk_is_one_line_and_a_closed_manifest(
    tiny_disk: Path, launch: list[subprocess.Popen[str]]
) -> None:
    proc, port, _ = start_sim(launch, "--model-id", "Qwen/Qwen2.5-7B-Instruct")
    wait_ready(port, proc)
    sim, out = f"http://127.0.0.1:{port}", tiny_disk / "out"
    full = _run(sim, out)
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr
    assert "Logging error" not in full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: no space left on the disk of {out}: 0.0 MiB free; the run stopped; free space there (or "
        "pass --output on another disk) and run the same command again: it resumes where it stopped"
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"].startswith(f"no space left on the disk of {out}")
    statuses = {key: value["status"] for key, value in manifest["combinations"].items()}
    assert statuses["qwen2.5_8b/balanced/arc_challenge"] == "failed"

    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_disk)], check=True)  # room again
    resumed = _run(sim, out)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert {value["status"] for value in manifest["combinations"].values()} <= {"complete", "skipped"}
    assert manifest["combinations"]["qwen2.5_8b/balanced/arc_challenge"]["status"] == "complete"


def test_a_report_on_a_full_disk_is_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from evalclient.cli import report as cli

    def full(*args: Any) -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise cli.ResultsError("cannot write the report") from exc

    monkeypatch.setattr(cli, "show_reports", full)
    failure = cli.try_reports(None, tmp_path)  # type: ignore[arg-type]
    assert isinstance(failure, DiskFullError)
    assert failure.exit_code == 1
    assert failure.message.startswith(f"no space left on the disk of {tmp_path}: ")

    monkeypatch.setattr(cli, "show_reports", lambda *args: 1 / 0)
    other = cli.try_reports(None, tmp_path)  # type: ignore[arg-type]
    assert other is not None
    assert (
        other.message
        == "the reports could not be built (ZeroDivisionError: division by zero); the results stand"
    )


def test_the_cause_is_found_behind_wrappers_and_groups() -> None:
    inner = OSError(errno.ENOSPC, "No space left on device")
    wrapped = RuntimeError("while writing")
    wrapped.__context__ = inner  # what `raise ... from None` inside `except OSError` leaves
    wrapped.__suppress_context__ = True
    assert full_disk_cause(ExceptionGroup("run", [ValueError("x"), wrapped])) is inner
    assert full_disk_cause(OSError(errno.EACCES, "denied")) is None
    assert full_disk_cause(OSError(errno.EDQUOT, "quota")) is not None
