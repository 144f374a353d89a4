"""Text Generation Inference: preset → text-generation-launcher flags."""

from __future__ import annotations

from evalclient.config import ModelSpec, Preset
from evalclient.engines.base import EngineAdapter, flag

TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.5"

# Architectures TGI serves with its own kernels; others fall back to transformers' remote code, which
# supports neither on-the-fly fp8 quantization nor an fp8 KV cache.
_NATIVE_FAMILIES = frozenset({"qwen2.5", "qwen3"})


class TGIAdapter(EngineAdapter):
    """Hugging Face TGI (the default engine)."""

    kind = "tgi"
    default_image = TGI_IMAGE
    cache_mount = "/data"

    def honoured(self, model: ModelSpec, preset: Preset) -> tuple[Preset, list[str]]:
        if model.family in _NATIVE_FAMILIES or not (preset.quantize or preset.kv_cache_dtype):
            return preset, []
        note = (
            f"{model.key}: TGI serves {model.hub_id} through remote code, which cannot apply "
            f"quantize={preset.quantize} / kv_cache_dtype={preset.kv_cache_dtype}; served in bfloat16 instead"
        )
        changes = {"quantize": None, "kv_cache_dtype": None, "dtype": "bfloat16"}
        return preset.model_copy(update=changes), [note]

    def launch_args(self, model: ModelSpec, preset: Preset, *, port: int) -> list[str]:
        args = ["--model-id", model.hub_id, "--revision", model.revision, "--hostname", "127.0.0.1"]
        args += ["--port", str(port), "--usage-stats", "off"]
        flag(args, "--dtype", preset.dtype)
        flag(args, "--quantize", preset.quantize)
        flag(args, "--kv-cache-dtype", preset.kv_cache_dtype)
        flag(args, "--max-concurrent-requests", preset.max_concurrent_requests)
        flag(args, "--max-input-tokens", preset.max_input_tokens)
        flag(args, "--max-total-tokens", preset.max_total_tokens)
        flag(args, "--max-batch-prefill-tokens", preset.max_batch_prefill_tokens)
        flag(args, "--max-batch-total-tokens", preset.max_batch_total_tokens)
        flag(args, "--cuda-memory-fraction", preset.gpu_memory_fraction)
        if preset.cuda_graphs:
            flag(args, "--cuda-graphs", ",".join(str(n) for n in preset.cuda_graphs))
        if model.trust_remote_code:
            args.append("--trust-remote-code")
        return args
