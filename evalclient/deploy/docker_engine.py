"""Container lifecycle on the Docker SDK: create (labelled) then start, state, logs, removal, orphan reaping.

Every call here blocks; async callers run them off the event loop. Containers are created before they are
started, so a start that is cancelled can always find and remove what it made.
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evalclient.deploy.host_paths import require_same_paths
from evalclient.deploy.model_cache import hub_dir, hub_token, model_cache_path
from evalclient.deploy.ownership import MANAGED_LABEL, RUN_LABEL, owner_alive, owner_known_alive
from evalclient.engines.base import LaunchSpec
from evalclient.errors import (
    DockerUnavailableError,
    EngineError,
    EnvironmentProblem,
    EvalClientError,
    GPUUnavailableError,
)

if TYPE_CHECKING:
    from evalclient.monitor.container import ContainerProbe

__all__ = ["MANAGED_LABEL", "RUN_LABEL", "ContainerEngine", "ContainerState", "DockerEngine", "connect"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningContainer:
    """A created inference container and what is known about it."""

    id: str
    name: str
    image: str
    image_id: str
    image_digests: tuple[str, ...]
    spec: LaunchSpec
    model_cache: str | None = None
    """The host cache whose hub/ is mounted at the spec's cache_mount/hub, None when nothing was mounted."""


@dataclass(frozen=True)
class ContainerState:
    """What the engine says of a container: running, exited (with its code), OOM-killed, or gone."""

    status: str  # created | running | exited | dead | gone | ...
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""

    @property
    def running(self) -> bool:
        return self.status == "running"


class ContainerEngine(Protocol):
    """What a deployment needs of an engine: Docker, or the local simulator stand-in."""

    host_gpus: bool
    """Its containers get this host's GPU devices: the sweep probes them and checks each image's CUDA."""

    def prepare(self, folders: Mapping[str, Path | None]) -> list[str]:
        """Check that its containers see `folders` at their host paths and remove the containers of dead
        runs; their names (blocking)."""
        ...

    def image_env(self, image: str) -> dict[str, str] | None:
        """The image's environment where known (its CUDA), else None."""
        ...

    def container_probe(self, container: RunningContainer) -> ContainerProbe | None:
        """The container's stats and processes for the performance monitor; None where it has none."""
        ...

    def ensure_image(self, image: str) -> None: ...

    def image_id(self, image: str) -> str | None: ...

    def create(
        self,
        spec: LaunchSpec,
        *,
        name: str,
        labels: dict[str, str],
        gpus: list[int] | None,
        cache_dir: Path | None,
        memory_limit: str | None = None,
    ) -> RunningContainer: ...

    def start(self, container_id: str) -> None: ...

    def state(self, container_id: str) -> ContainerState: ...

    def logs(self, container_id: str, tail: int | str = "all") -> str: ...

    def remove(self, container_id: str, timeout_s: int = 10) -> None: ...


class DockerEngine:
    """A connection to the Docker engine, reached through DOCKER_HOST or the default socket."""

    host_gpus = True

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect()
        return self._client

    def prepare(self, folders: Mapping[str, Path | None]) -> list[str]:
        """Connect (a one-line error when it cannot), check that a suite running in a container sees
        `folders` at their host paths, and remove the containers of dead runs; their names."""
        require_same_paths(self.client, folders)
        return self.reap_orphans()

    def container_probe(self, container: RunningContainer) -> ContainerProbe:
        from evalclient.monitor.container import DockerContainerProbe

        return DockerContainerProbe(self.client, container.id, container.name)

    def ensure_image(self, image: str) -> None:
        """Pull the image unless the engine has it (blocking; callers run it in a daemon thread)."""
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

    def image_id(self, image: str) -> str | None:
        """The local image's id, None when the engine does not have it (yet)."""
        import docker.errors

        try:
            return str(self.client.images.get(image).id)
        except docker.errors.ImageNotFound:
            return None

    def image_env(self, image: str) -> dict[str, str] | None:
        """The local image's environment (NVIDIA's base images declare their CUDA there); None if absent."""
        import docker.errors

        try:
            env = self.client.images.get(image).attrs.get("Config", {}).get("Env") or []
        except docker.errors.ImageNotFound:
            return None
        return dict(str(item).partition("=")[::2] for item in env)

    def create(
        self,
        spec: LaunchSpec,
        *,
        name: str,
        labels: dict[str, str],
        gpus: list[int] | None,
        cache_dir: Path | None,
        memory_limit: str | None = None,
    ) -> RunningContainer:
        """Create (not start) the container on the host network, labelled, with the shared memory its engine
        asks for and the model cache's hub/ mounted at the spec's cache_mount/hub (when given); for a gated
        model, the host's token written into it as the file spec.token_path, never into its configuration.
        EnvironmentProblem if a gated model has no token; EngineError if Docker refuses."""
        import docker.errors
        import docker.types

        token = _token_for(spec, cache_dir)  # before anything exists: a missing token creates nothing
        kwargs: dict[str, Any] = {
            "name": name,
            "detach": True,
            "network_mode": "host",
            "labels": {MANAGED_LABEL: "true", **labels},
            "environment": spec.environment,
        }
        if spec.ipc_host:  # the host's shared memory, as the engine's docs run it (vLLM: --ipc=host)
            kwargs["ipc_mode"] = "host"
        elif spec.shm_size:
            kwargs["shm_size"] = spec.shm_size
        if cache_dir is not None:
            hub = hub_dir(cache_dir)
            with suppress(OSError):  # not ours to create: Docker then makes it, as it made the whole cache
                hub.mkdir(parents=True, exist_ok=True)
            kwargs["volumes"] = {str(hub): {"bind": spec.cache_mount.rstrip("/") + "/hub", "mode": "rw"}}
        if memory_limit:
            kwargs["mem_limit"] = memory_limit
            kwargs["memswap_limit"] = memory_limit
        if spec.entrypoint:
            kwargs["entrypoint"] = list(spec.entrypoint)
        if gpus:
            ids = [str(g) for g in gpus]
            kwargs["device_requests"] = [docker.types.DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]
        try:
            container = self.client.containers.create(spec.image, list(spec.args), **kwargs)
        except docker.errors.APIError as exc:
            raise _refused(spec.image, exc) from None
        if token is not None:
            _write_token(container, spec, token)
        image = container.image
        return RunningContainer(
            id=container.id,
            name=name,
            image=spec.image,
            image_id=image.id,
            image_digests=tuple(image.attrs.get("RepoDigests") or ()),
            spec=spec,
            model_cache=None if cache_dir is None else str(cache_dir),
        )

    def start(self, container_id: str) -> None:
        import docker.errors

        try:
            self.client.containers.get(container_id).start()
        except docker.errors.APIError as exc:
            raise _refused(container_id, exc) from None

    def state(self, container_id: str) -> ContainerState:
        """The container's state as the engine reports it; status "gone" once it was removed."""
        import docker.errors

        try:
            attrs = self.client.api.inspect_container(container_id)
        except docker.errors.NotFound:
            return ContainerState("gone")
        state = attrs.get("State") or {}
        status = str(state.get("Status", "unknown"))
        code = state.get("ExitCode") if status != "running" else None
        return ContainerState(status, code, bool(state.get("OOMKilled")), str(state.get("Error") or ""))

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        """The container's stdout and stderr ('' when it is gone)."""
        import docker.errors

        try:
            raw = self.client.containers.get(container_id).logs(tail=tail)
        except docker.errors.NotFound:
            return ""
        return bytes(raw).decode("utf-8", errors="replace")

    def remove(self, container_id: str, timeout_s: int = 10) -> None:
        """Stop and remove the container; one already gone is fine."""
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

    def managed(self, run_id: str | None = None) -> list[Any]:
        """Containers labelled evalclient.managed (of one run, if given), running or not."""
        labels = [MANAGED_LABEL] + ([f"{RUN_LABEL}={run_id}"] if run_id else [])
        return list(self.client.containers.list(all=True, filters={"label": labels}))

    def reap_orphans(self) -> list[str]:
        """Remove the containers whose owning evalclient process on this host is gone; their names."""
        removed = []
        for container in self.managed():
            if not owner_alive(container.labels):
                container.remove(force=True, v=True)
                removed.append(container.name)
                log.info("removed orphaned container %s (its run died)", container.name)
        return removed

    def cleanup(
        self, run_id: str | None = None, *, include_live: bool = False
    ) -> tuple[list[str], list[str]]:
        """Remove labelled containers and volumes: (removed, kept because their run is still alive)."""
        removed: list[str] = []
        kept: list[str] = []
        for container in self.managed(run_id):
            live = owner_known_alive(container.labels) and container.status in (
                "running",
                "created",
                "restarting",
            )
            if live and not include_live:
                kept.append(f"container {container.name} (run {container.labels.get(RUN_LABEL)})")
                continue
            container.remove(force=True, v=True)
            removed.append(f"container {container.name}")
        labels = [MANAGED_LABEL] + ([f"{RUN_LABEL}={run_id}"] if run_id else [])
        for volume in self.client.volumes.list(filters={"label": labels}):
            volume.remove(force=True)
            removed.append(f"volume {volume.name}")
        return removed, kept


def _token_for(spec: LaunchSpec, cache_dir: Path | None) -> str | None:
    """The host's token when the spec's model is gated, else None; EnvironmentProblem when none is set."""
    if spec.token_for is None:
        return None
    cache = cache_dir or model_cache_path()
    token = hub_token(cache)
    if token is None:
        saved = os.environ.get("HF_TOKEN_PATH") or str(cache / "token")
        raise EnvironmentProblem(
            f"{spec.token_for} is gated and no Hugging Face token is set (HF_TOKEN, HUGGING_FACE_HUB_TOKEN "
            f"and {saved} are empty or absent)",
            "accept the model's terms on its hub page, then `export HF_TOKEN=hf_...` (or `hf auth login`); "
            "with its weights already in the cache, HF_HUB_OFFLINE=1 needs none",
        )
    return token


def token_archive(path: str, token: str) -> bytes:
    """A tar of one file, `path` (absolute, in the container), holding the token: owned by root, mode 0440
    (root, and the group-0 users images run as when not root, e.g. vLLM's non-root image)."""
    data = token.encode("utf-8")
    member = tarfile.TarInfo(path.lstrip("/"))
    member.size, member.mode, member.mtime = len(data), 0o440, int(time.time())
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _write_token(container: Any, spec: LaunchSpec, token: str) -> None:
    """Copy the token into the created (not started) container's own filesystem at spec.token_path: in no
    host folder, not in its configuration, gone with the container. Missing parent folders are made 0755
    (moby go-archive `createImpliedDirectories`). Removes the container and raises EngineError on failure."""
    import docker.errors

    try:
        written = bool(container.put_archive("/", token_archive(spec.token_path, token)))
        failure = None if written else "Docker answered that it was not written"
    except docker.errors.APIError as exc:
        failure = str(exc.explanation or exc)
    if failure is None:
        return
    with suppress(docker.errors.APIError):
        container.remove(force=True, v=True)
    raise EngineError(
        f"could not give {container.name} the Hugging Face token for {spec.token_for} at {spec.token_path}: "
        f"{failure}",
        "check that the Docker engine allows copying files into containers (docker cp)",
    )


def _refused(what: str, exc: Any) -> EvalClientError:
    text = str(getattr(exc, "explanation", None) or exc)
    if "could not select device driver" in text:
        return GPUUnavailableError(
            f"Docker cannot give {what} a GPU ({text})",
            "install nvidia-container-toolkit and run `sudo nvidia-ctk runtime configure --runtime=docker`, "
            "then restart Docker",
        )
    return EngineError(f"Docker could not start {what}: {text}")


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
