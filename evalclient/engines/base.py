"""The engine adapter interface: preset knobs → launcher flags, ports, health and metrics paths."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evalclient.client.protocols import Protocol
from evalclient.client.requests import ChatRequest, RequestKind
from evalclient.config import ModelSpec, Preset
from evalclient.monitor.server_metrics import ServerMetricNames

_FORWARDED_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE")
Capability = tuple[int, int]


@dataclass(frozen=True)
class Fp8Support:
    """The GPU compute capabilities at which an engine serves fp8 weights and an fp8 KV cache."""

    weights_native: Capability
    """fp8 weights and activations (W8A8) on FP8 tensor cores from here."""
    weights_min: Capability | None
    """Below native, weight-only fp8 (W8A16, Marlin kernels) down to here; None: native only."""
    kv_cache_min: Capability
    source: str
    """Where the numbers come from, for the reasons the fit check prints."""


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to start one inference container, and the record of how it was derived."""

    engine: str
    image: str
    args: tuple[str, ...]
    port: int
    host: str = "127.0.0.1"
    entrypoint: tuple[str, ...] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    cache_mount: str = "/data"
    shm_size: str = "1g"
    health_path: str = "/health"
    metrics_path: str = "/metrics"
    substitutions: tuple[str, ...] = ()
    quantize: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def command_line(self) -> str:
        """The exact command the container runs, for provenance."""
        return " ".join((*(self.entrypoint or ()), *self.args))


class EngineAdapter(ABC):
    """One inference engine: TGI, vLLM or SGLang."""

    kind: ClassVar[str]
    default_image: ClassVar[str]
    cache_mount: ClassVar[str] = "/data"
    health_path: ClassVar[str] = "/health"
    metrics_path: ClassVar[str] = "/metrics"
    metric_names: ClassVar[ServerMetricNames]
    fp8: ClassVar[Fp8Support]
    shard_flag: ClassVar[str]
    """The launcher flag for tensor parallelism over the GPUs the container sees."""
    ignores_eos: ClassVar[bool] = True
    """Whether requests can ask to generate past the end-of-sequence token (`ignore_eos`), for load tests."""

    @abstractmethod
    def protocols(self) -> dict[RequestKind, Protocol]:
        """A fresh protocol per request kind the engine serves (one set per client: they hold caches)."""

    @property
    def request_kinds(self) -> frozenset[RequestKind]:
        return frozenset(self.protocols())

    @abstractmethod
    def apply_thinking(self, request: ChatRequest, mode: str) -> ChatRequest:
        """The request with the model's thinking mode ("enabled", "disabled", "none") switched."""

    def server_concurrency(self, info: dict[str, Any], preset: Preset) -> int:
        """How many requests the server takes at once: what it reports, else the preset's limit."""
        for key in ("max_concurrent_requests", "max_num_seqs", "max_running_requests"):
            reported = info.get(key)
            if isinstance(reported, int) and reported > 0:
                return reported
        return preset.max_concurrent_requests

    def kv_budget(self, logs: str, info: dict[str, Any], configured: int | None) -> int | None:
        """The KV-cache token budget the server reported (its /info), else the preset's value, else None."""
        for key in ("max_batch_total_tokens", "max_total_num_tokens"):
            reported = info.get(key)
            if isinstance(reported, int) and reported > 0:
                return reported
        return configured

    def launch_spec(
        self, model: ModelSpec, preset: Preset, *, port: int, image: str | None = None, shards: int = 1
    ) -> LaunchSpec:
        """Map the preset to this engine's flags (tensor-parallel over `shards` GPUs when above 1); knobs it
        cannot honour become recorded substitutions."""
        effective, substitutions = self.honoured(model, preset)
        args = self.launch_args(model, effective, port=port)
        if shards > 1:
            args += [self.shard_flag, str(shards)]
        return LaunchSpec(
            engine=self.kind,
            image=image or self.default_image,
            args=tuple(args),
            port=port,
            entrypoint=self.entrypoint(),
            environment=self.environment(),
            cache_mount=self.cache_mount,
            health_path=self.health_path,
            metrics_path=self.metrics_path,
            substitutions=tuple(substitutions),
            quantize=effective.quantize,
        )

    def honoured(self, model: ModelSpec, preset: Preset) -> tuple[Preset, list[str]]:
        """The preset as this engine can serve `model`, and a sentence for every knob it had to change."""
        return preset, []

    @abstractmethod
    def launch_args(self, model: ModelSpec, preset: Preset, *, port: int) -> list[str]:
        """The launcher flags for a preset the engine honours in full."""

    def max_shards(self, model: ModelSpec) -> int | None:
        """The most GPUs the engine can shard `model` over (None: as many as its attention heads allow)."""
        return None

    def entrypoint(self) -> tuple[str, ...] | None:
        """An entrypoint override, where the image's own does not launch the server."""
        return None

    def environment(self) -> dict[str, str]:
        """Environment for the container: the host's Hugging Face token, for gated or private models."""
        return {name: os.environ[name] for name in _FORWARDED_ENV if os.environ.get(name)}


def flag(args: list[str], name: str, value: object) -> None:
    """Append `name value` unless value is None."""
    if value is not None:
        args.extend((name, str(value)))
