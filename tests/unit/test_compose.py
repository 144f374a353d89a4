"""The compose stack validates with the compose tool from the system's packages (skipped, saying why, where
none is installed), and the two suite Dockerfiles (offline and connected) build the same image."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose" / "docker-compose.yml"


def _compose_tool() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    reason = "no compose tool: install Debian's docker-compose (apt-get install docker-compose) or its plugin"
    if os.environ.get("EVALCLIENT_REQUIRE_COMPOSE") == "1":
        pytest.fail(f"EVALCLIENT_REQUIRE_COMPOSE=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TGI_", "EVALCLIENT_"))}
    env.update(HOME="/home/u", PWD="/srv/work")
    command = [*_compose_tool(), "-f", str(COMPOSE), "--profile", "tgi", "--profile", "demo", "config"]
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def _binds(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume, from the short syntax (compose v1) or the long one (v2)."""
    pairs = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        pairs.append((source, target))
    return pairs


def _gpus(service: dict[str, Any]) -> list[dict[str, Any]]:
    return list(service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", []))


def test_compose_file_validates_with_every_profile(config: dict[str, Any]) -> None:
    services = config["services"]
    assert sorted(services) == ["demo", "evalclient", "evalclient-tgi", "tgi"]
    assert services["evalclient"]["command"] == ["eval-all"]
    assert services["demo"]["command"] == ["demo", "--output", "demo_results"]
    assert {name: s["network_mode"] for name, s in services.items()} == dict.fromkeys(services, "host")


def test_suite_mounts_the_socket_cache_and_results_at_their_host_paths(config: dict[str, Any]) -> None:
    for name in ("evalclient", "evalclient-tgi", "demo"):
        service = config["services"][name]
        assert _binds(service) == [
            ("/var/run/docker.sock", "/var/run/docker.sock"),
            ("/home/u/.cache/huggingface", "/home/u/.cache/huggingface"),
            ("/srv/work", "/srv/work"),
        ]
        assert service["working_dir"] == "/srv/work"
        assert service["environment"]["HOME"] == "/home/u"
        assert service["image"] == "evalclient:latest"


def test_gpu_services_reserve_gpus_and_tgi_is_healthchecked(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("evalclient", "tgi", "evalclient-tgi"):
        (device,) = _gpus(services[name])
        assert (device["driver"], device["count"], device["capabilities"]) == ("nvidia", "all", ["gpu"])
    assert _gpus(services["demo"]) == []
    tgi = services["tgi"]
    assert tgi["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.7"
    assert tgi["healthcheck"]["test"] == ["CMD", "curl", "-fsS", "http://127.0.0.1:8080/health"]
    assert _binds(tgi) == [("/home/u/.cache/huggingface", "/data")]
    assert services["evalclient-tgi"]["depends_on"]["tgi"]["condition"] == "service_healthy"
    assert services["evalclient-tgi"]["command"][:3] == ["run", "--endpoint", "http://127.0.0.1:8080"]


def _instructions(path: Path) -> dict[str, str]:
    """ENV, WORKDIR, ENTRYPOINT and CMD of a Dockerfile (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    found = {}
    for line in text.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if keyword in ("ENV", "WORKDIR", "ENTRYPOINT", "CMD"):
            found[keyword] = " ".join(rest.split())
    return found


def _copied_to(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return sorted(m.group(1) for m in re.finditer(r"^COPY \S+ (/opt/evalclient/\S*)$", text, re.MULTILINE))


def test_offline_and_connected_dockerfiles_build_the_same_image() -> None:
    offline, connected = ROOT / "compose" / "suite" / "Dockerfile", ROOT / "compose" / "Dockerfile"
    assert _instructions(offline) == _instructions(connected)
    assert _instructions(offline)["ENTRYPOINT"] == '["evalclient"]'
    assert (
        _copied_to(offline)
        == _copied_to(connected)
        == [
            "/opt/evalclient/compose/sim/",
            "/opt/evalclient/evalclient/",
            "/opt/evalclient/presets/",
        ]
    )
    assert "ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm\nFROM ${PYTHON_IMAGE}\n" in connected.read_text()
