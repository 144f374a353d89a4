"""Text Generation Inference: preset → text-generation-launcher flags, TGI's APIs, metrics and quirks."""

from __future__ import annotations

import re
from typing import Any

from evalclient.client.protocols import OpenAIChat, Protocol, TGIGenerate, TGILoglikelihood
from evalclient.client.requests import ChatRequest, RequestKind
from evalclient.config import ModelSpec, Preset
from evalclient.engines.base import EngineAdapter, Fp8Support, flag
from evalclient.engines.pins import TGI_PIN
from evalclient.engines.thinking import soft_switch
from evalclient.monitor.server_metrics import ServerMetricNames

TGI_IMAGE = TGI_PIN.image

# Architectures TGI serves with its own kernels; others fall back to transformers' remote code, which
# supports neither on-the-fly fp8 quantization nor an fp8 KV cache.
_NATIVE_FAMILIES = frozenset({"qwen2.5", "qwen3"})
# TGI's router logs "Setting max batch total tokens to N" once it has sized the KV cache.
_BUDGET_LOG = re.compile(r"max batch total tokens to (\d+)", re.IGNORECASE)


class TGIAdapter(EngineAdapter):
    """Hugging Face TGI (the default engine)."""

    kind = "tgi"
    default_image = TGI_IMAGE
    cache_mount = "/data"
    shard_flag = "--num-shard"
    # The launcher documents fp8 "on H100 and above"; on compute capability 8.x its fp8 layer falls back to
    # Marlin W8A16 kernels; its fp8 KV cache needs the flashinfer/paged kernels, built for sm80 and up.
    fp8 = Fp8Support((9, 0), (8, 0), (8, 0), "TGI 3.3 launcher docs and fp8 layer")
    ignores_eos = False  # TGI's HTTP API has no ignore_eos (huggingface/text-generation-inference#1944)
    metric_names = ServerMetricNames(
        engine="tgi",
        running_batch=("tgi_batch_current_size",),
        queue_size=("tgi_queue_size",),
        kv_cache_tokens=("tgi_batch_current_max_tokens",),
        kv_budget_tokens=("tgi_batch_max_total_tokens",),
        prompt_tokens=("tgi_request_input_length_sum",),
        generation_tokens=("tgi_request_generated_tokens_sum",),
    )

    def protocols(self) -> dict[RequestKind, Protocol]:
        return {
            RequestKind.CHAT: OpenAIChat(full_sampling=False),
            RequestKind.GENERATE: TGIGenerate(),
            RequestKind.LOGLIKELIHOOD: TGILoglikelihood(),
        }

    def apply_thinking(self, request: ChatRequest, mode: str) -> ChatRequest:
        return soft_switch(request, mode)

    def kv_budget(self, logs: str, info: dict[str, Any], configured: int | None) -> int | None:
        """The budget from the router's startup log, else /info, else the preset; the monitor prefers the
        `tgi_batch_max_total_tokens` gauge of each scrape where TGI exports it."""
        found = _BUDGET_LOG.findall(logs)
        return int(found[-1]) if found else super().kv_budget(logs, info, configured)

    def honoured(self, model: ModelSpec, preset: Preset) -> tuple[Preset, list[str]]:
        if model.family in _NATIVE_FAMILIES or not (preset.quantize or preset.kv_cache_dtype):
            return preset, []
        note = (
            f"{model.key}: TGI serves {model.hub_id} through remote code, which cannot apply "
            f"quantize={preset.quantize} / kv_cache_dtype={preset.kv_cache_dtype}; served in bfloat16 instead"
        )
        changes = {"quantize": None, "kv_cache_dtype": None, "dtype": "bfloat16"}
        return preset.model_copy(update=changes), [note]

    def max_shards(self, model: ModelSpec) -> int | None:
        # A model without TGI kernels runs through the transformers fallback, which cannot be sharded
        # (TGI docs, "Non-core Model Serving": no tensor-parallel sharding, no flash attention).
        return 1 if model.family not in _NATIVE_FAMILIES else None

    def launch_args(self, model: ModelSpec, preset: Preset, *, port: int) -> list[str]:
        args = ["--model-id", model.hub_id, "--revision", model.revision, "--hostname", "127.0.0.1"]
        args += ["--port", str(port), "--usage-stats", "off", "--enable-prefill-logprobs"]
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
