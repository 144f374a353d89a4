"""The run manifest (`manifest.json`): what the run planned, where each deployment ran, how each combination
ended. `ManifestAuthor` is its one writer (the process that owns the results tree), `read_manifest` its one
reader. Keys that only some runs have (`cluster`, `unusable_nodes`, `error`, a deployment's node and event
times) are left out of the file while unset; every other key is always written, `null` included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, ValidationError, model_serializer

from evalclient.errors import EvalClientError, ResultsError
from evalclient.results.atomic import atomic_write_json
from evalclient.results.disk_full import full_disk_cause, write_in_place

RunStatus = Literal["running", "finished", "interrupted", "failed"]
EVENTS = ("started_at", "ready_at", "ended_at")
"""A deployment's events, each recorded with its time."""


class GpuPoolEntry(BaseModel):
    """The GPUs the run sized its deployments on."""

    model_config = ConfigDict(extra="ignore")

    ids: list[int] = []
    virtual: bool = False


class PlanEntry(BaseModel):
    """One planned deployment: its datasets (sample counts), GPUs and how its engine image serves it (the
    keys of `Serving.record()`, kept as written)."""

    model_config = ConfigDict(extra="allow")

    model: str
    preset: str
    datasets: dict[str, int | None] = {}
    gpus_needed: int | None = None
    """None: the deployment cannot run on the GPUs (refused, recorded failed)."""
    engine: str | None = None
    image: str | None = None
    engine_version: str | None = None
    capabilities_assumed: bool | None = None
    serving_path: str | None = None
    serving_path_name: str | None = None
    substitutions: list[str] = []
    refusal: str | None = None
    route: str | None = None


class DeploymentEntry(BaseModel):
    """Where a deployment ran (the node on a cluster, its GPUs) and when it started, was ready, ended."""

    model_config = ConfigDict(extra="ignore")

    node: str | None = None
    node_id: str | None = None
    gpus: list[int] | None = None
    virtual_gpus: bool | None = None
    shards: int | None = None
    started_at: str | None = None
    ready_at: str | None = None
    ended_at: str | None = None

    @model_serializer(mode="wrap")
    def _set_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class CombinationEntry(BaseModel):
    """How one model/preset/dataset ended in this run."""

    model_config = ConfigDict(extra="ignore")

    status: str
    error: str | None = None
    metrics_file: str | None = None
    at: str | None = None


class NodeEntry(BaseModel):
    """A node of the Ray cluster the run used."""

    model_config = ConfigDict(extra="ignore")

    node_id: str
    address: str
    gpus: int
    virtual: bool


class UnusableNode(BaseModel):
    """A node left out of the run: it cannot start containers."""

    model_config = ConfigDict(extra="ignore")

    address: str
    reason: str


class Manifest(BaseModel):
    """manifest.json. Every field has a default so that manifests of older runs, or partial ones, read."""

    model_config = ConfigDict(extra="ignore")

    run_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    status: RunStatus | None = None
    backend: str | None = None
    engine: str | None = None
    image: str | None = None
    endpoint: str | None = None
    config_dir: str | None = None
    gpus: GpuPoolEntry | None = None
    plan: list[PlanEntry] = []
    deployments: dict[str, DeploymentEntry] = {}
    combinations: dict[str, CombinationEntry] = {}
    cluster: list[NodeEntry] | None = None
    """The nodes of the Ray cluster (`--backend ray` only)."""
    unusable_nodes: dict[str, UnusableNode] | None = None
    """Nodes left out of the run, by Ray node id (only when one was)."""
    error: str | None = None
    """Why the run failed (only when it did: a full disk)."""

    @model_serializer(mode="wrap")
    def _set_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("cluster", "unusable_nodes", "error"):
            if data.get(key) is None:
                data.pop(key, None)
        return data

    def to_json(self) -> dict[str, Any]:
        """The JSON object manifest.json holds."""
        return self.model_dump(mode="json")


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at `path`; None when there is none (or it is not a JSON object); ResultsError when it
    cannot be read."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest.model_validate(data) if isinstance(data, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        why = _invalid(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ResultsError(
            f"cannot read {path}: {why}", "delete it to report only the metrics files that exist"
        ) from None


def _invalid(exc: ValidationError) -> str:
    """`where: what` of the first errors, in one line."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in exc.errors()[:3])


class ManifestAuthor:
    """Keeps the run's Manifest and writes it after every change. On a full disk it tells `on_full` (the run
    stops) and keeps the manifest in memory; the closing write then overwrites the file in place, compactly,
    when no new file fits."""

    def __init__(self, path: Path, on_full: Callable[[OSError], None]) -> None:
        self.path = path
        self.on_full = on_full
        self.manifest = Manifest()

    def start(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.save()

    def placed(self, key: str, gpus: tuple[int, ...], virtual: bool, shards: int) -> None:
        """The deployment's GPUs (written with its next event)."""
        entry = self._deployment(key)
        entry.gpus, entry.virtual_gpus, entry.shards = list(gpus), virtual, shards

    def on_node(self, key: str, address: str, node_id: str) -> None:
        """The cluster node the deployment runs on (written with its next event)."""
        entry = self._deployment(key)
        entry.node, entry.node_id = address, node_id

    def event(self, key: str, event: str) -> None:
        """The deployment `started_at`, was `ready_at`, `ended_at` now."""
        if event not in EVENTS:
            raise ValueError(f"unknown deployment event {event!r}")
        setattr(self._deployment(key), event, datetime.now(UTC).isoformat(timespec="milliseconds"))
        self.save()

    def combination(self, key: str, status: str, error: str | None, metrics_file: str | None) -> None:
        self.manifest.combinations[key] = CombinationEntry(
            status=status, error=error, metrics_file=metrics_file, at=_now()
        )
        self.save()

    def unusable(self, node_id: str, address: str, reason: str) -> None:
        """A node that cannot start containers, left out of the run."""
        nodes = self.manifest.unusable_nodes or {}
        nodes[node_id] = UnusableNode(address=address, reason=reason)
        self.manifest.unusable_nodes = nodes
        self.save()

    def close(self, status: RunStatus, error: str | None) -> None:
        """The run ended with `status` (and why it failed)."""
        self.manifest.finished_at = _now()
        self.manifest.status = status
        if error is not None:
            self.manifest.error = error
        self.save(closing=True)

    def save(self, closing: bool = False) -> None:
        try:
            atomic_write_json(self.path, self.manifest.to_json())
            return
        except (OSError, EvalClientError) as exc:
            cause = full_disk_cause(exc)
            if cause is None:
                raise
            self.on_full(cause)
        if closing:
            data = json.dumps(self.manifest.to_json(), separators=(",", ":"), default=str).encode()
            with suppress(OSError):
                write_in_place(self.path, data + b"\n")

    def _deployment(self, key: str) -> DeploymentEntry:
        return self.manifest.deployments.setdefault(key, DeploymentEntry())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
