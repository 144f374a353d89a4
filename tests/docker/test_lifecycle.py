"""Container deployments on the real engine: ready, early exit, timeout, death while serving, and
cancellation at every step leave nothing behind."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from evalclient.config import load_config
from evalclient.deploy.container import ContainerProvider
from evalclient.deploy.docker_engine import DockerEngine, RunningContainer
from evalclient.engines import get_adapter
from evalclient.engines.base import LaunchSpec, Ports
from evalclient.errors import EngineError
from evalclient.planning.plan import build_plan

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]
CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
PLAN = build_plan(
    CONFIG,
    models=["qwen2.5_8b"],
    presets=["balanced"],
    datasets=["gsm8k"],
    samples=1,
    engine="tgi",
    image=None,
).deployments[0]


def _spec_for(image: str, *extra: str) -> Any:
    def spec_for(ports: Ports) -> LaunchSpec:
        spec = get_adapter("tgi").launch_spec(
            PLAN.model, PLAN.preset, port=ports.http, ports=ports, image=image
        )
        return LaunchSpec(**{**spec.__dict__, "args": (*spec.args, *extra)})

    return spec_for


def _provider(engine: DockerEngine, tmp_path: Path, timeout: float = 60) -> ContainerProvider:
    return ContainerProvider(
        engine, gpus=None, cache_dir=tmp_path, ready_timeout_s=timeout, watch_interval_s=0.2
    )


def _ours(docker_client: Any, run_id: str) -> list[Any]:
    return list(docker_client.containers.list(all=True, filters={"label": f"evalclient.run_id={run_id}"}))


async def test_container_serves_then_is_removed(docker_client: Any, sim_image: str, tmp_path: Path) -> None:
    provider = _provider(DockerEngine(docker_client), tmp_path)
    log_path = tmp_path / "container.log"
    async with provider.deploy(
        PLAN, _spec_for(sim_image, "--profile", "fast"), run_id="t-ready", log_path=log_path
    ) as server:
        assert server.ready_s is not None
        assert server.info["model_id"] == "Qwen/Qwen2.5-7B-Instruct"
        assert "Setting max batch total tokens to" in server.logs
        async with aiohttp.ClientSession() as session, session.get(server.base_url + "/health") as response:
            assert response.status == 200
        [container] = _ours(docker_client, "t-ready")
        assert container.labels["evalclient.managed"] == "true"
        assert container.labels["evalclient.owner_pid"].isdigit()
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        assert "--enable-prefill-logprobs" in container.attrs["Args"]
        await asyncio.sleep(0.5)
        assert not server.lost.is_set()
    assert not _ours(docker_client, "t-ready")
    assert "Qwen/Qwen2.5-7B-Instruct" in log_path.read_text()


async def test_a_container_that_dies_while_serving_is_lost_with_its_exit(
    docker_client: Any, sim_image: str, tmp_path: Path
) -> None:
    provider = _provider(DockerEngine(docker_client), tmp_path)
    async with provider.deploy(
        PLAN, _spec_for(sim_image), run_id="t-kill", log_path=tmp_path / "l.log"
    ) as server:
        [container] = _ours(docker_client, "t-kill")
        killed = time.monotonic()
        container.kill()
        await asyncio.wait_for(server.lost.wait(), timeout=10)
        noticed = time.monotonic() - killed
    assert noticed < 5
    assert server.lost_reason is not None
    assert "exited with code 137 (killed by SIGKILL)" in server.lost_reason
    assert not _ours(docker_client, "t-kill")


async def test_container_that_exits_is_reported_with_its_logs(
    docker_client: Any, sim_image: str, tmp_path: Path
) -> None:
    provider = _provider(DockerEngine(docker_client), tmp_path)
    with pytest.raises(EngineError) as info:
        async with provider.deploy(
            PLAN, _spec_for(sim_image, "--no-such-flag"), run_id="t-exit", log_path=tmp_path / "l"
        ):
            pytest.fail("a container with a bad flag must not become ready")
    assert "exited with exit code 2" in info.value.message
    assert "no-such-flag" in info.value.message
    assert not _ours(docker_client, "t-exit")


async def test_ready_timeout_stops_the_container(docker_client: Any, sim_image: str, tmp_path: Path) -> None:
    provider = _provider(DockerEngine(docker_client), tmp_path, timeout=2)
    with pytest.raises(EngineError, match="not ready after 2 s"):
        async with provider.deploy(
            PLAN, _spec_for(sim_image, "--startup-delay", "60"), run_id="t-slow", log_path=tmp_path / "l"
        ):
            pass
    assert not _ours(docker_client, "t-slow")


async def test_cancellation_while_waiting_removes_the_container(
    docker_client: Any, sim_image: str, tmp_path: Path
) -> None:
    provider = _provider(DockerEngine(docker_client), tmp_path, timeout=120)

    async def hold() -> None:
        async with provider.deploy(
            PLAN, _spec_for(sim_image, "--startup-delay", "60"), run_id="t-cancel", log_path=tmp_path / "l"
        ):
            pass

    task = asyncio.create_task(hold())
    for _ in range(100):
        await asyncio.sleep(0.1)
        if docker_client.containers.list(filters={"label": "evalclient.run_id=t-cancel"}):
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _ours(docker_client, "t-cancel")


class SlowCreate(DockerEngine):
    """The real engine behind a busy daemon: a create takes 2 s before the container exists."""

    def create(self, *args: Any, **kwargs: Any) -> RunningContainer:
        time.sleep(2)
        return super().create(*args, **kwargs)


async def test_cancellation_during_a_slow_create_removes_what_it_made(
    docker_client: Any, sim_image: str, tmp_path: Path
) -> None:
    provider = _provider(SlowCreate(docker_client), tmp_path)

    async def hold() -> None:
        async with provider.deploy(PLAN, _spec_for(sim_image), run_id="t-create", log_path=tmp_path / "l"):
            pytest.fail("cancelled before it was ready")

    task = asyncio.create_task(hold())
    await asyncio.sleep(0.5)  # cancel while the create call is still on its way
    assert not _ours(docker_client, "t-create")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(3)  # long after the create call returned
    assert not _ours(docker_client, "t-create")
