"""The engine adapter interface: a preset as served (engines/serving.py) → launcher flags, ports, limits."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from evalclient.client.protocols import Protocol
from evalclient.client.requests import ChatRequest, RequestKind
from evalclient.config import ModelSpec, Preset
from evalclient.engines.capabilities import EngineCapabilities
from evalclient.engines.serving import Serving, capabilities_for, serving_of
from evalclient.monitor.server_metrics import ServerMetricNames

_FORWARDED_ENV = ("HF_HUB_OFFLINE",)
"""The host settings an engine container is given. Never a token: a gated model's token goes in as a file
(LaunchSpec.token_for), so it is in no container's configuration (`docker inspect`: Config.Env, Args)."""
TOKEN_PATH_ENV = "HF_TOKEN_PATH"
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
class RequestNeeds:
    """What the selected tasks' requests ask of a server: stop sequences and top logprobs per request."""

    stop_sequences: int = 0
    top_logprobs: int = 0


@dataclass(frozen=True)
class Ports:
    """The host-network ports one deployment was leased: its HTTP port, and the ones an engine binds besides
    (a Prometheus listener, the shards' rendezvous); 0 where none was leased (plans, fingerprints)."""

    http: int
    metrics: int = 0
    rendezvous: int = 0


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
    """The engine's Hugging Face home in the container (HF_HOME): the host cache's hub/ is mounted at its
    hub/, and a gated model's token is written at its `token`."""
    token_for: str | None = None
    """The gated model (hub id) this container is given the host's Hugging Face token for, as the file at
    `token_path`; None: no token in any form."""
    shm_size: str | None = "1g"
    ipc_host: bool = False
    health_path: str = "/health"
    metrics_path: str = "/metrics"
    info_paths: tuple[str, ...] = ("/info", "/v1/models")
    substitutions: tuple[str, ...] = ()
    quantize: str | None = None
    serving: Serving | None = None
    answer_args: tuple[str, ...] | None = None
    """The flags that shape the answers (not ports or request limits): what a fingerprint covers."""

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_path(self) -> str:
        """Where a gated model's token file is written in the container: `$HF_HOME/token`, the one path read
        by every component that downloads, in each pinned engine.

        TGI v3.3.7 (HF_HOME=/data, Dockerfile): its launcher (launcher/src/main.rs `get_config`) and router
        (router/src/server.rs) build `hf_hub::api::{sync,tokio}::ApiBuilder::from_env()` (hf-hub 0.4.2 per
        Cargo.lock, version commit 357331d), whose `from_cache` takes `Cache::from_env().token()`: the file
        `$HF_HOME/token` (src/lib.rs `Cache::token_path`, the cache folder `$HF_HOME/hub` with its last part
        replaced by `token`; hf-hub reads no HF_TOKEN_PATH). Its Python server downloads with huggingface_hub
        0.30.1 (server/uv.lock), whose `get_token` reads HF_TOKEN, else the file HF_TOKEN_PATH, by default
        `$HF_HOME/token` (constants.py, utils/_auth.py `_get_token_from_file`; the same through v1.28.0).
        vLLM and SGLang download with huggingface_hub (`snapshot_download`, `hf_hub_download`, `HfFileSystem`
        without a token argument: model_loader/weight_utils.py in the stored copies, vllm 0035bdf, sglang
        00b08c4), which reads the same file; HF_TOKEN_PATH (a path, not the secret) names it for them."""
        return token_file(self.cache_mount)

    @property
    def command_line(self) -> str:
        """The exact command the container runs, for provenance."""
        return " ".join((*(self.entrypoint or ()), *self.args))

    @property
    def fingerprint_args(self) -> tuple[str, ...]:
        return self.args if self.answer_args is None else self.answer_args


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

    @property
    def capabilities(self) -> EngineCapabilities | None:
        """The capability table's entry for the engine's default pin."""
        return capabilities_for(self.kind, self.default_image)[0]

    @property
    def info_paths(self) -> tuple[str, ...]:
        caps = self.capabilities
        return ("/info", "/v1/models") if caps is None else caps.container.info_paths

    @abstractmethod
    def apply_thinking(self, request: ChatRequest, mode: str) -> ChatRequest:
        """The request with the model's thinking mode ("enabled", "disabled", "none") switched."""

    def apply_stop_tokens(self, request: ChatRequest, token_ids: tuple[int, ...]) -> ChatRequest:
        """The request with the model's end-of-turn token ids (models.yaml `stop_token_ids`), where the engine
        takes them (vLLM and SGLang: `stop_token_ids`); unchanged where it does not."""
        if not token_ids:
            return request
        return replace(request, extra_body={**request.extra_body, "stop_token_ids": list(token_ids)})

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

    def serving(self, model: ModelSpec, preset: Preset, image: str | None = None) -> Serving:
        """How this engine's image (its pin by default) serves `model` with `preset`."""
        return serving_of(model, preset, self.kind, image or self.default_image)

    def launch_spec(
        self,
        model: ModelSpec,
        preset: Preset,
        *,
        port: int,
        image: str | None = None,
        shards: int = 1,
        needs: RequestNeeds = RequestNeeds(),
        ports: Ports | None = None,
        serving: Serving | None = None,
    ) -> LaunchSpec:
        """The container for `model` served with `preset` as the capability table says this engine serves it
        (knobs it cannot honour are left out and recorded), tensor-parallel over `shards` GPUs when above one,
        launched with the request limits `needs` asks for, on `ports` (else `port` alone)."""
        image = image or self.default_image
        serving = serving or self.serving(model, preset, image)
        ports = ports or Ports(port)
        caps = serving.capabilities
        args = self.launch_args(model, serving, port=ports.http) + list(serving.extra_args)
        if shards > 1:
            args += [self.shard_flag, str(shards)]
        operational, environment = _limits(caps, needs) if caps is not None else ([], {})
        operational += self.port_args(ports, shards)
        container = None if caps is None else caps.container
        token_for = model.hub_id if model.gated and not hub_offline() else None
        if token_for is not None:
            environment[TOKEN_PATH_ENV] = token_file(self.cache_mount)
        return LaunchSpec(
            engine=self.kind,
            image=image,
            args=tuple(args + operational),
            port=ports.http,
            entrypoint=self.entrypoint(),
            environment={**self.environment(), **environment},
            cache_mount=self.cache_mount,
            token_for=token_for,
            shm_size="1g" if container is None else container.shm_size,
            ipc_host=container is not None and container.ipc_host,
            health_path=self.health_path,
            metrics_path=self.metrics_path,
            info_paths=self.info_paths if container is None else container.info_paths,
            substitutions=serving.substitutions,
            quantize=serving.preset.quantize,
            serving=serving,
            answer_args=tuple(args),
        )

    @abstractmethod
    def launch_args(self, model: ModelSpec, serving: Serving, *, port: int) -> list[str]:
        """The launcher flags for the preset as served (`serving.preset`)."""

    def port_args(self, ports: Ports, shards: int) -> list[str]:
        """Flags giving the engine its leased side ports (none by default: it binds no fixed port)."""
        return []

    def kv_cache_name(self, serving: Serving) -> str | None:
        """The engine's name for the served preset's KV-cache format (None: the weights' dtype)."""
        kv = serving.preset.kv_cache_dtype
        caps = serving.capabilities
        if kv is None or caps is None:
            return kv
        return caps.kv_cache.names.get(kv, kv)

    def entrypoint(self) -> tuple[str, ...] | None:
        """An entrypoint override, where the image's own does not launch the server."""
        return None

    def environment(self) -> dict[str, str]:
        """Environment for the container: the host's offline switch for the hub (never a token)."""
        return {name: os.environ[name] for name in _FORWARDED_ENV if os.environ.get(name)}


def token_file(hf_home: str) -> str:
    """The token file under an engine's Hugging Face home in its container (LaunchSpec.token_path)."""
    return hf_home.rstrip("/") + "/token"


def hub_offline() -> bool:
    """Whether the host runs the hub offline, so that every engine reads the mounted cache alone and needs no
    token: HF_HUB_OFFLINE=1, the one value all of them take (TGI v3.3.7's router/src/server.rs tests
    `== "1"`; its server and huggingface_hub also take true/yes)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip() == "1"


def _limits(caps: EngineCapabilities, needs: RequestNeeds) -> tuple[list[str], dict[str, str]]:
    """Flags and environment raising the engine's request limits to what the tasks need."""
    args: list[str] = []
    env: dict[str, str] = {}
    limits = caps.limits
    for default, setting, needed in (
        (limits.stop_sequences, limits.stop_sequences_setting, needs.stop_sequences),
        (limits.top_logprobs, limits.top_logprobs_setting, needs.top_logprobs),
    ):
        if default is None or setting is None or needed <= default:
            continue
        if setting.startswith("env:"):
            env[setting[4:]] = str(needed)
        else:
            args += [setting, str(needed)]
    return args, env


def flag(args: list[str], name: str, value: object) -> None:
    """Append `name value` unless value is None."""
    if value is not None:
        args.extend((name, str(value)))
