"""The simulator image, built offline by ensure_sim_image and run as TGI would be (host network, loopback)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from evalclient.deploy.docker_engine import MANAGED_LABEL

# docker_client, sim_image and no_leftovers come from tests/docker/conftest.py
pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]

MODEL = "Qwen/Qwen2.5-7B-Instruct"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return json.loads(resp.read() or b"null")


def wait_ready(container: Any, port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            raise AssertionError(container.logs().decode())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the simulator container did not become ready")


@pytest.fixture
def sim_container(docker_client: Any, sim_image: str) -> Iterator[tuple[Any, int]]:
    port = free_port()
    args = ["--model-id", MODEL, "--hostname", "127.0.0.1", "--port", str(port)]
    args += ["--max-batch-total-tokens", "16000", "--profile", "fast", "--prometheus-port", "0"]
    container = docker_client.containers.run(
        sim_image, args, detach=True, network_mode="host", labels={MANAGED_LABEL: "true"}
    )
    try:
        wait_ready(container, port)
        yield container, port
    finally:
        container.remove(force=True)


def test_image_is_tagged_by_source_hash_and_reused(docker_client: Any, sim_image: str) -> None:
    from evalclient.host.sim_image import ensure_sim_image, source_hash

    assert sim_image == f"evalclient-sim:{source_hash()}"
    started = time.monotonic()
    assert ensure_sim_image(docker_client) == sim_image
    assert time.monotonic() - started < 10
    assert docker_client.images.get("evalclient-sim:latest").id == docker_client.images.get(sim_image).id


def test_container_serves_health_and_info(sim_container: tuple[Any, int]) -> None:
    container, port = sim_container
    info = get_json(port, "/info")
    assert info["model_id"] == MODEL
    assert info["router"] == "text-generation-router"
    # TGI ignores --max-batch-total-tokens for flash models and infers the budget: the fast profile's
    assert info["simulator"]["max_batch_total_tokens"] == 1_000_000
    assert "`--max-batch-total-tokens` is deprecated for Flash Attention models." in container.logs().decode()
    assert info["simulator"]["max_tokens_per_second"] == 8000.0
    assert MODEL in container.logs().decode()


def test_container_stops_cleanly_on_sigterm(sim_container: tuple[Any, int]) -> None:
    container, _ = sim_container
    container.stop(timeout=10)
    assert container.wait(timeout=15)["StatusCode"] == 0
