"""The docker tier: a real Docker engine and the simulator image, built offline on first use.

Where no engine can be reached the tier is skipped with the reason, except in CI
(EVALCLIENT_REQUIRE_DOCKER=1), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from evalclient.deploy.docker_engine import MANAGED_LABEL
from evalclient.host.sim_image import sim_variant

Variant = Callable[..., str]


@pytest.fixture(scope="session")
def docker_client() -> Any:
    from evalclient.deploy.docker_engine import connect
    from evalclient.errors import DockerUnavailableError

    try:
        return connect()
    except DockerUnavailableError as exc:
        if os.environ.get("EVALCLIENT_REQUIRE_DOCKER") == "1":
            pytest.fail(f"EVALCLIENT_REQUIRE_DOCKER=1 but {exc}")
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def sim_image(docker_client: Any) -> str:
    from evalclient.host.sim_image import ensure_sim_image

    return ensure_sim_image(docker_client)


@pytest.fixture(scope="session")
def variant(docker_client: Any, sim_image: str) -> Variant:
    """`variant(*flags)` → the simulator image with those flags added to its entrypoint (built once)."""
    built: dict[tuple[str, ...], str] = {}

    def build(*flags: str) -> str:
        if flags not in built:
            built[flags] = sim_variant(docker_client, sim_image, ("--log-requests", *flags))
        return built[flags]

    return build


@pytest.fixture
def no_leftovers(docker_client: Any) -> Iterator[None]:
    """Fails the test if it leaves a container labelled evalclient.managed behind."""
    before = {c.id for c in docker_client.containers.list(all=True, filters={"label": MANAGED_LABEL})}
    yield
    after = docker_client.containers.list(all=True, filters={"label": MANAGED_LABEL})
    leaked = [c.name for c in after if c.id not in before]
    for container in after:
        if container.id not in before:
            container.remove(force=True)
    assert not leaked, f"containers left behind: {leaked}"
