"""How an engine image will really serve a model with a preset, read off the capability table.

`serving_of(model, preset, engine, image)` gives the serving path (native kernels or a fallback), the preset
as it will be served (knobs the path does not honour taken out, the activation dtype it really runs), one
sentence per knob not applied, and, when the image cannot start the model at all, the refusal. A pinned image
is held to its table entry: a refused deployment is never started. An image evalclient does not pin is planned
with the capabilities of its engine's default pin, marked assumed: what the table expects it to refuse is
said, and tried anyway (a newer or patched image may serve it).
"""

from __future__ import annotations

from dataclasses import dataclass

from evalclient.config import ModelSpec, Preset
from evalclient.engines.capabilities import ArchitecturePath, EngineCapabilities, GgufWeights, release
from evalclient.engines.pins import pin_for, pins_of


@dataclass(frozen=True)
class Serving:
    """One model × preset on one engine image, as the table says it will be served."""

    engine: str
    image: str
    capabilities: EngineCapabilities | None
    assumed: bool
    """The image is not pinned: `capabilities` are its engine's default pin's, expected rather than known."""
    path: str
    """native, fallback, unsupported, or unknown (an architecture or engine release the table lacks)."""
    path_name: str
    preset: Preset
    """The preset as served: knobs not applied removed, the activation dtype the engine really runs."""
    substitutions: tuple[str, ...] = ()
    refusal: str | None = None
    """Why the image cannot start the model (None: it can)."""
    route: str | None = None
    """Why this engine image serves the model instead of the run's own, when it does."""
    extra_args: tuple[str, ...] = ()
    shardable: bool = True

    @property
    def version(self) -> str | None:
        return None if self.capabilities is None else self.capabilities.version

    @property
    def starts(self) -> bool:
        """Whether a container is started: no refusal, or one only expected of an unpinned image."""
        return self.refusal is None or self.assumed

    @property
    def label(self) -> str:
        """`tgi 3.3.7, fallback` — the engine, its release and the serving path, for tables."""
        release_name = self.version or "unpinned"
        return f"{self.engine} {release_name}{' (assumed)' if self.assumed else ''}, {self.path}"

    def record(self) -> dict[str, object]:
        """What the manifest, the plan's JSON and every metrics file's provenance hold of it."""
        return {
            "engine": self.engine,
            "image": self.image,
            "engine_version": self.version,
            "capabilities_assumed": self.assumed,
            "serving_path": self.path,
            "serving_path_name": self.path_name,
            "substitutions": list(self.substitutions),
            "refusal": self.refusal,
            "route": self.route,
        }


def capabilities_for(engine: str, image: str) -> tuple[EngineCapabilities | None, bool]:
    """(capabilities, assumed): the pin's release, else the engine's default pin's (assumed)."""
    pin = pin_for(image)
    if pin is not None and pin.engine == engine:
        return release(pin.engine, pin.version), False
    default = next(iter(pins_of(engine)), None)
    return (None if default is None else release(engine, default.version)), True


def serving_of(
    model: ModelSpec, preset: Preset, engine: str, image: str, route: str | None = None
) -> Serving:
    """How `image` of `engine` serves `model` with `preset`, per the capability table."""
    caps, assumed = capabilities_for(engine, image)
    arch = None if caps is None else caps.architecture(model.architecture)
    if caps is None or arch is None:
        what = f"{engine} image {image}" if caps is None else f"{engine} {caps.version}"
        name = f"{model.architecture} not in the capability table of {what}: flags passed unchecked"
        return Serving(engine, image, caps, assumed, "unknown", name, preset, route=route)
    if arch.path == "unsupported":
        refusal = f"{engine} {caps.version} cannot start {model.hub_id} ({model.architecture}): {arch.reason}"
        if assumed:
            refusal += f"; {image} is not pinned, so it is tried"
        return Serving(engine, image, caps, assumed, arch.path, arch.name, preset, (), refusal, route)
    if caps.gguf is not None and model.hub_id not in caps.gguf:
        refusal = _no_gguf(model, caps) + (f"; {image} is not pinned, so it is tried" if assumed else "")
        return Serving(engine, image, caps, assumed, arch.path, arch.name, preset, (), refusal, route)
    served, notes = _honoured(model, preset, caps, arch)
    notes += caps.unserved
    prefix = f"{model.key} on {engine} {caps.version}{' (assumed)' if assumed else ''}: "
    return Serving(
        engine,
        image,
        caps,
        assumed,
        arch.path,
        arch.name,
        served,
        tuple(prefix + note for note in notes),
        None,
        route,
        arch.extra_args,
        arch.shardable,
    )


def gguf_of(model: ModelSpec, caps: EngineCapabilities | None) -> GgufWeights | None:
    """The GGUF an engine that loads GGUF only serves `model` from; None for other engines (or none known)."""
    return None if caps is None or caps.gguf is None else caps.gguf.get(model.hub_id)


def _no_gguf(model: ModelSpec, caps: EngineCapabilities) -> str:
    return (
        f"{caps.engine} {caps.version} serves GGUF files and no GGUF is known for {model.hub_id}: convert "
        "it (llama.cpp's convert_hf_to_gguf.py) into a hub repository and add it to the engine's GGUF table "
        "(engines/capabilities.py)"
    )


def _honoured(
    model: ModelSpec, preset: Preset, caps: EngineCapabilities, arch: ArchitecturePath
) -> tuple[Preset, list[str]]:
    """The preset as this path serves it, and a sentence per knob it changes."""
    gguf = gguf_of(model, caps)
    if gguf is not None:
        return _gguf_honoured(model, preset, caps, gguf)
    notes: list[str] = []
    changes: dict[str, object] = {}
    where = f"{arch.name} ({arch.path})"
    quantize = preset.quantize
    if quantize is not None and quantize not in arch.quantize:
        quantize = None
        changes["quantize"] = None
    dtype = _activation_dtype(preset.dtype, quantize, caps, arch)
    if quantize != preset.quantize:
        served_in = dtype or "the checkpoint's dtype"
        notes.append(f"quantize={preset.quantize} not applied on {where}; weights served in {served_in}")
    if dtype != preset.dtype:
        changes["dtype"] = dtype
        if preset.dtype is not None:
            notes.append(f"served in {dtype} (dtype {preset.dtype}): {_dtype_why(quantize, caps, arch)}")
    kv = preset.kv_cache_dtype
    if kv is not None and not arch.fp8_kv_cache:
        changes["kv_cache_dtype"] = None
        notes.append(
            f"kv_cache_dtype={kv} not applied on {where}; the KV cache is {dtype or 'the weights dtype'}"
        )
    elif kv is not None and kv not in caps.kv_cache.fast:
        notes.append(f"kv_cache_dtype={kv} changes the attention backend: {caps.kv_cache.swap}")
    if preset.max_batch_total_tokens is not None and not caps.batch_token_budget:
        changes["max_batch_total_tokens"] = None
        notes.append(
            f"max_batch_total_tokens={preset.max_batch_total_tokens} not applied: {caps.engine} sizes its KV "
            f"cache from the GPU memory fraction ({preset.gpu_memory_fraction:g})"
        )
    if caps.limits.input_limit_flag is None and preset.max_input_tokens < preset.max_total_tokens - 1:
        notes.append(
            f"max_input_tokens={preset.max_input_tokens} not applied: {caps.engine} limits only the context "
            f"(prompt + answer ≤ max_total_tokens={preset.max_total_tokens})"
        )
    return (preset.model_copy(update=changes) if changes else preset), notes


def _gguf_honoured(
    model: ModelSpec, preset: Preset, caps: EngineCapabilities, gguf: GgufWeights
) -> tuple[Preset, list[str]]:
    """A GGUF engine: the file's weights whatever the dtype or quantization asked; fp8 KV as its stand-in."""
    skipped = [f"{k}={v}" for k, v in (("dtype", preset.dtype), ("quantize", preset.quantize)) if v]
    notes = [
        f"weights from the GGUF {gguf.hf}, not {model.hub_id} at {model.revision}"
        + (f" ({', '.join(skipped)} not applied)" if skipped else "")
    ]
    kv = preset.kv_cache_dtype
    if kv is not None and caps.kv_cache.stand_in:
        notes.append(f"kv_cache_dtype={kv} served as {caps.kv_cache.names[kv]}: {caps.kv_cache.stand_in}")
    if caps.memory_fraction_note:
        notes.append(
            f"gpu_memory_fraction={preset.gpu_memory_fraction:g} not applied: {caps.memory_fraction_note}"
        )
    if preset.max_batch_total_tokens is None:
        notes.append(
            f"max_total_tokens={preset.max_total_tokens} not applied per sequence: with no KV budget (-c) a "
            "sequence may fill the pool (--kv-unified-per-slot alone would size it to slots x the cap)"
        )
    return preset.model_copy(update={"dtype": None, "quantize": None}), notes


def _activation_dtype(
    dtype: str | None, quantize: str | None, caps: EngineCapabilities, arch: ArchitecturePath
) -> str | None:
    if quantize is not None and not caps.dtype_with_quantize:
        return caps.quantized_dtype
    return dtype or arch.default_dtype


def _dtype_why(quantize: str | None, caps: EngineCapabilities, arch: ArchitecturePath) -> str:
    if quantize is not None and not caps.dtype_with_quantize:
        return f"{caps.engine} takes no dtype beside a quantization and computes quantized models in it"
    return f"the default of {arch.name} when no dtype is given"
