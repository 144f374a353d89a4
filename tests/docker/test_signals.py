"""SIGTERM or Ctrl-C during a run stops and removes the container and exits 130."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evalclient.deploy.docker_engine import MANAGED_LABEL
from evalclient.sweep.demo import demo_data_dir

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]


@pytest.fixture(scope="module")
def slow_start_image(docker_client: Any, sim_image: str) -> str:
    """The simulator image with a 60 s start-up delay, like a large model loading its weights."""
    dockerfile = (
        f'FROM {sim_image}\nENTRYPOINT ["python3", "-m", "evalclient.sim", "--startup-delay", "60"]\n'
    )
    tag = "evalclient-sim-slow:test"
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    return tag


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_waiting_removes_container(
    docker_client: Any, slow_start_image: str, tmp_path: Path, signum: int
) -> None:
    args = [
        sys.executable,
        "-m",
        "evalclient",
        "run",
        "--models",
        "qwen2.5_8b",
        "--presets",
        "balanced",
        "--datasets",
        "gsm8k",
        "--samples",
        "2",
        "--image",
        slow_start_image,
        "--gpus",
        "none",
        "--output",
        str(tmp_path),
        "--data-dir",
        str(demo_data_dir()),
        "--quiet",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not docker_client.containers.list(
            filters={"label": MANAGED_LABEL, "ancestor": slow_start_image}
        ):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the container never started"
            time.sleep(0.2)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert not docker_client.containers.list(all=True, filters={"ancestor": slow_start_image})
