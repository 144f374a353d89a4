"""The suite's own image, built offline like the simulator's, runs the CLI and the demo inside a container:
the demo starts the simulator image as a sibling container through the mounted Docker socket."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from evalclient.cli import DEMO_DATASETS, DEMO_MODELS
from evalclient.deploy.docker_engine import MANAGED_LABEL

# docker_client, sim_image and no_leftovers come from tests/docker/conftest.py
pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]
SOCKET = "/var/run/docker.sock"


@pytest.fixture(scope="module")
def suite_image(docker_client: Any, sim_image: str) -> str:
    from evalclient.host.suite_image import ensure_suite_image

    if os.environ.get("DOCKER_HOST", f"unix://{SOCKET}") != f"unix://{SOCKET}":
        pytest.skip(f"the suite container mounts {SOCKET}; DOCKER_HOST is {os.environ['DOCKER_HOST']}")
    return ensure_suite_image(docker_client)


def run_suite(docker_client: Any, image: str, args: list[str], folder: Path) -> tuple[int, str]:
    """Run the suite image once, as compose does (host network, socket, a folder at its host path)."""
    container = docker_client.containers.run(
        image,
        args,
        detach=True,
        init=True,
        network_mode="host",
        working_dir=str(folder),
        volumes={SOCKET: {"bind": SOCKET, "mode": "rw"}, str(folder): {"bind": str(folder), "mode": "rw"}},
        labels={MANAGED_LABEL: "true", "evalclient.role": "suite-test"},
    )
    try:
        code = int(container.wait(timeout=600)["StatusCode"])
        return code, container.logs().decode("utf-8", errors="replace")
    finally:
        container.remove(force=True)


def test_image_is_tagged_by_source_hash_and_reused(docker_client: Any, suite_image: str) -> None:
    from evalclient.host.images import files_hash
    from evalclient.host.suite_image import ensure_suite_image, source_files

    assert suite_image == f"evalclient:{files_hash(source_files())}"
    assert ensure_suite_image(docker_client) == suite_image
    assert docker_client.images.get("evalclient:latest").id == docker_client.images.get(suite_image).id


def test_version_inside_the_image(docker_client: Any, suite_image: str, tmp_path: Path) -> None:
    assert run_suite(docker_client, suite_image, ["--version"], tmp_path) == (
        0,
        "evalclient, version 0.1.0\n",
    )


def test_demo_inside_the_image_drives_the_simulator_as_a_sibling(
    docker_client: Any, suite_image: str, sim_image: str, tmp_path: Path
) -> None:
    out = tmp_path / "demo_results"
    code, logs = run_suite(
        docker_client, suite_image, ["demo", "--samples", "2", "--output", str(out)], tmp_path
    )
    assert code == 0, logs
    assert f"simulator image {sim_image} on the Docker engine" in logs
    records = sorted((out / "metrics" / "detailed").glob("*.json"))
    assert len(records) == len(DEMO_MODELS) * 3 * len(DEMO_DATASETS)  # 3 presets
    first = json.loads(records[0].read_text())
    assert (first["status"], first["num_samples"]) == ("complete", 2)
    assert first["provenance"]["image"] == sim_image
    assert first["provenance"]["container"].startswith("evalclient-qwen2-5_8b_balanced-")
    assert first["provenance"]["model_cache"] is None  # the simulator needs no weights


def test_a_results_folder_not_on_the_host_stops_with_the_fix(
    docker_client: Any, suite_image: str, tmp_path: Path
) -> None:
    code, logs = run_suite(docker_client, suite_image, ["demo", "--output", "/results"], tmp_path)
    assert code == 2
    assert logs.strip().splitlines()[-1] == (
        "error: the results folder /results is inside the evalclient container, not on the host, so engine "
        "containers cannot share it; mount a host folder at the same path (docker run -v /results:/results; "
        "compose/docker-compose.yml does this)"
    )
