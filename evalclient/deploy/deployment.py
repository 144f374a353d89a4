"""A deployment as the runner sees it, whoever provides it, and the provider protocol.

    async with provider.deploy(plan, spec_for, run_id=..., log_path=..., slot=...) as deployment:
        ...                          # deployment.lost is set (with a reason) when the server dies

A provider starts (or finds) the server, waits until it answers, watches it while it serves, and tears it
down in every case. `lost` tells the runner to stop sending within seconds of a death.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evalclient.deploy.docker_engine import RunningContainer
from evalclient.engines.base import LaunchSpec, Ports
from evalclient.planning.plan import DeploymentPlan
from evalclient.planning.slots import Slot


@dataclass
class Deployment:
    """A server ready to take requests: a container or process we started, or an endpoint already up."""

    base_url: str
    container: RunningContainer | None = None
    ready_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    logs: str = ""
    """The server's log so far, read once it was ready (for the KV budget it reports)."""
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    lost_reason: str | None = None
    slot: Slot | None = None
    """The GPUs it runs on (None: not ours to place, an endpoint)."""

    @property
    def image_id(self) -> str | None:
        return None if self.container is None else self.container.image_id

    def mark_lost(self, reason: str) -> None:
        """Record the first reason the server went away and wake whoever waits on `lost`."""
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    def provenance(self) -> dict[str, Any]:
        """How this server was started, for the metrics files."""
        record: dict[str, Any] = {
            "base_url": self.base_url,
            "time_to_ready_s": self.ready_s,
            "server_info": self.info,
        }
        if self.slot is not None:
            record.update(gpus=list(self.slot.gpus), virtual_gpus=self.slot.virtual)
        if self.container is not None:
            spec = self.container.spec
            record.update(
                engine=spec.engine,
                image=self.container.image,
                image_id=self.container.image_id,
                image_digests=list(self.container.image_digests),
                command=spec.command_line,
                substitutions=list(spec.substitutions),
                container=self.container.name,
                model_cache=self.container.model_cache,
            )
        return record


SpecFor = Callable[[Ports], LaunchSpec]
"""The launch spec of a deployment for the ports it was leased."""
Stage = Callable[[str], None]
"""Told what a deployment is doing while it starts ("pulling image", "loading weights")."""


def _quiet(stage: str) -> None:
    return None


class Provider(Protocol):
    """Where deployments come from: Docker containers, local simulator processes, or an endpoint."""

    def prepare(self) -> None:
        """Check the provider can work (Docker reachable, leftovers of dead runs reaped); blocking."""

    def image_id(self, image: str) -> str | None:
        """The id of the image a deployment would run, where known before it starts; blocking."""

    def deploy(
        self,
        plan: DeploymentPlan,
        spec_for: SpecFor,
        *,
        run_id: str,
        log_path: Path,
        slot: Slot | None = None,
        stage: Stage = _quiet,
    ) -> AbstractAsyncContextManager[Deployment]:
        """Start the deployment (on the slot's GPUs, else the provider's), yield it once it answers, watch
        it, and remove it in every case."""
