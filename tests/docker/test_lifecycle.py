"""Container lifecycle on the real engine: ready, early exit, timeout and cancel leave nothing behind."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from evalclient.config import load_config
from evalclient.engines import get_adapter
from evalclient.engines.base import LaunchSpec
from evalclient.engines.docker import DockerEngine, free_port
from evalclient.engines.lifecycle import deployed
from evalclient.errors import EngineError

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]
CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")


def _spec(image: str, *extra: str, preset: str = "balanced") -> LaunchSpec:
    spec = get_adapter("tgi").launch_spec(
        CONFIG.model("qwen2.5_8b"), CONFIG.preset(preset), port=free_port(), image=image
    )
    return LaunchSpec(**{**spec.__dict__, "args": (*spec.args, *extra)})


def _deploy(docker_client: Any, spec: LaunchSpec, tmp_path: Path, name: str, timeout: float = 60) -> Any:
    return deployed(
        DockerEngine(docker_client),
        spec,
        name=name,
        labels={"evalclient.test": "1"},
        gpus=None,
        cache_dir=tmp_path,
        ready_timeout_s=timeout,
        log_path=tmp_path / "container.log",
    )


async def test_container_serves_then_is_removed(docker_client: Any, sim_image: str, tmp_path: Path) -> None:
    spec = _spec(sim_image, "--profile", "fast")
    async with _deploy(docker_client, spec, tmp_path, "evalclient-test-ready") as server:
        assert server.ready_s is not None
        assert server.info["model_id"] == "Qwen/Qwen2.5-7B-Instruct"
        async with aiohttp.ClientSession() as session, session.get(server.base_url + "/health") as response:
            assert response.status == 200
        container = docker_client.containers.get("evalclient-test-ready")
        assert container.labels["evalclient.managed"] == "true"
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        assert "--max-batch-prefill-tokens" in container.attrs["Args"]
    assert not docker_client.containers.list(all=True, filters={"name": "evalclient-test-ready"})
    assert "Qwen/Qwen2.5-7B-Instruct" in (tmp_path / "container.log").read_text()


async def test_container_that_exits_is_reported_with_its_logs(
    docker_client: Any, sim_image: str, tmp_path: Path
) -> None:
    spec = _spec(sim_image, "--no-such-flag")
    with pytest.raises(EngineError) as info:
        async with _deploy(docker_client, spec, tmp_path, "evalclient-test-exit"):
            pytest.fail("a container with a bad flag must not become ready")
    assert "exited (exit code 2)" in info.value.message
    assert "no-such-flag" in info.value.message


async def test_ready_timeout_stops_the_container(docker_client: Any, sim_image: str, tmp_path: Path) -> None:
    spec = _spec(sim_image, "--startup-delay", "60")
    with pytest.raises(EngineError, match="not ready after 2 s"):
        async with _deploy(docker_client, spec, tmp_path, "evalclient-test-slow", timeout=2):
            pass


async def test_cancellation_while_waiting_removes_the_container(
    docker_client: Any, sim_image: str, tmp_path: Path
) -> None:
    spec = _spec(sim_image, "--startup-delay", "60")

    async def hold() -> None:
        async with _deploy(docker_client, spec, tmp_path, "evalclient-test-cancel", timeout=120):
            pass

    task = asyncio.create_task(hold())
    for _ in range(100):
        await asyncio.sleep(0.1)
        if docker_client.containers.list(filters={"name": "evalclient-test-cancel"}):
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not docker_client.containers.list(all=True, filters={"name": "evalclient-test-cancel"})
