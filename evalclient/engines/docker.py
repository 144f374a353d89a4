"""Container lifecycle on the Docker SDK: start with labels and flags, inspect, collect logs, stop, clean up.

Every call here blocks; async callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evalclient.engines.base import LaunchSpec
from evalclient.errors import DockerUnavailableError, EngineError

MANAGED_LABEL = "evalclient.managed"
RUN_LABEL = "evalclient.run_id"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningContainer:
    """A started inference container and what is known about it."""

    id: str
    name: str
    image: str
    image_id: str
    image_digests: tuple[str, ...]
    spec: LaunchSpec


class ContainerEngine(Protocol):
    """What the lifecycle needs of an engine: Docker, or the local simulator stand-in."""

    def start(
        self, spec: LaunchSpec, *, name: str, labels: dict[str, str], gpus: list[int] | None, cache_dir: Path
    ) -> RunningContainer: ...

    def state(self, container_id: str) -> tuple[str, int | None]: ...

    def logs(self, container_id: str, tail: int | str = "all") -> str: ...

    def stop(self, container_id: str, timeout_s: int = 10) -> None: ...


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on host that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DockerEngine:
    """A connection to the Docker engine, reached through DOCKER_HOST or the default socket."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect()
        return self._client

    def start(
        self, spec: LaunchSpec, *, name: str, labels: dict[str, str], gpus: list[int] | None, cache_dir: Path
    ) -> RunningContainer:
        """Start the container detached on the host network; raise EngineError if Docker refuses."""
        import docker.errors
        import docker.types

        self._ensure_image(spec.image)
        kwargs: dict[str, Any] = {
            "name": name,
            "detach": True,
            "network_mode": "host",
            "labels": {MANAGED_LABEL: "true", **labels},
            "environment": spec.environment,
            "shm_size": spec.shm_size,
            "volumes": {str(cache_dir.resolve()): {"bind": spec.cache_mount, "mode": "rw"}},
        }
        if spec.entrypoint:
            kwargs["entrypoint"] = list(spec.entrypoint)
        if gpus:
            ids = [str(g) for g in gpus]
            kwargs["device_requests"] = [docker.types.DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]
        try:
            container = self.client.containers.run(spec.image, list(spec.args), **kwargs)
        except docker.errors.APIError as exc:
            raise EngineError(f"Docker could not start {spec.image}: {exc.explanation or exc}") from None
        image = container.image
        return RunningContainer(
            id=container.id,
            name=name,
            image=spec.image,
            image_id=image.id,
            image_digests=tuple(image.attrs.get("RepoDigests") or ()),
            spec=spec,
        )

    def _ensure_image(self, image: str) -> None:
        import docker.errors

        try:
            self.client.images.get(image)
            return
        except docker.errors.ImageNotFound:
            pass
        log.info("pulling %s", image)
        try:
            self.client.images.pull(image)
        except docker.errors.APIError as exc:
            raise EngineError(
                f"image {image} is not on this host and could not be pulled: {exc.explanation or exc}",
                "pull it on a connected machine (docker pull / docker save | docker load) or pass --image",
            ) from None

    def state(self, container_id: str) -> tuple[str, int | None]:
        """The container's status ('running', 'exited', …) and exit code; ('gone', None) if removed."""
        import docker.errors

        try:
            container = self.client.containers.get(container_id)
        except docker.errors.NotFound:
            return "gone", None
        state = container.attrs.get("State", {})
        return str(container.status), state.get("ExitCode") if container.status != "running" else None

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        """The container's stdout and stderr ('' when it is gone)."""
        import docker.errors

        try:
            raw = self.client.containers.get(container_id).logs(tail=tail)
        except docker.errors.NotFound:
            return ""
        return bytes(raw).decode("utf-8", errors="replace")

    def stop(self, container_id: str, timeout_s: int = 10) -> None:
        """Stop and remove the container; a container already gone is fine."""
        import docker.errors

        try:
            container = self.client.containers.get(container_id)
        except docker.errors.NotFound:
            return
        try:
            container.stop(timeout=timeout_s)
        except docker.errors.APIError as exc:
            log.warning("stopping %s failed (%s); removing it by force", container_id[:12], exc)
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            return

    def cleanup(self, run_id: str | None = None) -> list[str]:
        """Remove the containers and volumes labelled evalclient.managed (of one run, if given)."""
        labels = [MANAGED_LABEL] + ([f"{RUN_LABEL}={run_id}"] if run_id else [])
        removed: list[str] = []
        for container in self.client.containers.list(all=True, filters={"label": labels}):
            container.remove(force=True, v=True)
            removed.append(f"container {container.name}")
        for volume in self.client.volumes.list(filters={"label": labels}):
            volume.remove(force=True)
            removed.append(f"volume {volume.name}")
        return removed

    def managed_containers(self) -> list[str]:
        """Names of the containers labelled evalclient.managed, running or not."""
        return [c.name for c in self.client.containers.list(all=True, filters={"label": MANAGED_LABEL})]

    def runtimes(self) -> set[str]:
        """The OCI runtimes the engine knows (contains 'nvidia' where nvidia-container-toolkit is set up)."""
        return set((self.client.info().get("Runtimes") or {}).keys())


def connect() -> Any:
    """A Docker client that has answered a ping, or DockerUnavailableError saying what to do."""
    import docker
    import docker.errors

    address = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailableError(
            f"cannot reach the Docker engine at {address} ({_why(str(exc))})",
            "start it (e.g. `sudo systemctl start docker`) or set DOCKER_HOST; "
            "`make demo` runs without Docker",
        ) from None
    return client


def _why(error: str) -> str:
    """A few words on why the engine did not answer, from the SDK's long error text."""
    for needle, words in (
        ("No such file", "no such socket"),
        ("Permission denied", "permission denied: add your user to the docker group"),
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
    ):
        if needle in error:
            return words
    return error.strip()[-160:] or "no answer"
