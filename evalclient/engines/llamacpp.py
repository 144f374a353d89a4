"""llama.cpp's llama-server (b11312): preset → llama-server flags, its OpenAI APIs, metrics and limits.

Facts from ggml-org/llama.cpp at b11312 (commit 0c1e57098; the tree llama-cpp-python 0.3.36 vendors):
- the model is a GGUF: `-hf <repo>[:quant]` downloads it into the Hugging Face cache layout, the first of
  LLAMA_CACHE, HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, `$HF_HOME/hub`, `~/.cache/huggingface/hub`
  (common/hf-cache.cpp get_cache_directory), so the model cache's hub/ mounted at `$HF_HOME/hub` keeps it;
  `--offline` uses the cache only (common/arg.cpp); `-hf` takes no revision;
- `-c` is the KV pool in tokens, `-np` the slots, `--kv-unified` one pool shared by the slots,
  `--kv-unified-per-slot N` caps each slot's context (tools/server/server-context.cpp n_ctx_slot),
  `-b`/`-ub` the logical and physical batch (defaults 2048 and 512, common/common.h), `-ctk`/`-ctv` the
  cache types, `-fa on|off|auto`, `-ngl all` every layer on the GPU, `--jinja` the model's chat template
  (tools and tool_choice need it: server-common.cpp), `--metrics` the /metrics endpoint (common/arg.cpp);
- the image's `ENV LLAMA_ARG_HOST=0.0.0.0` (.devops/cuda.Dockerfile) yields to `--host`: "the argument will
  take precedence over env var" (tools/server/README.md).
"""

from __future__ import annotations

from typing import Any

from evalclient.client.protocols import LlamaCppChat, LlamaCppGenerate, NoLoglikelihood, Protocol
from evalclient.client.requests import ChatRequest, RequestKind
from evalclient.config import ModelSpec, Preset
from evalclient.engines.base import EngineAdapter, Fp8Support, flag, hub_offline
from evalclient.engines.capabilities import LLAMACPP_B11312
from evalclient.engines.pins import LLAMACPP_PIN
from evalclient.engines.serving import Serving, gguf_of
from evalclient.engines.thinking import template_switch

LLAMACPP_IMAGE = LLAMACPP_PIN.image
UBATCH_MAX = 2048
"""The largest physical batch given: llama.cpp's own default logical batch (n_batch = 2048, common.h)."""


class LlamaCppAdapter(EngineAdapter):
    """llama.cpp (`ghcr.io/ggml-org/llama.cpp:server-cuda-*`); the image's entrypoint is /app/llama-server."""

    kind = "llamacpp"
    default_image = LLAMACPP_IMAGE
    cache_mount = "/root/.cache/huggingface"
    shard_flag = "--split-mode"  # never given: the capability table keeps llama.cpp on one GPU
    fp8 = Fp8Support(
        (5, 0), None, (5, 0), "llama.cpp serves no fp8; its CUDA build covers compute capability 5.0 up"
    )
    metric_names = LLAMACPP_B11312.metrics

    def protocols(self) -> dict[RequestKind, Protocol]:
        return {
            RequestKind.CHAT: LlamaCppChat(),
            RequestKind.GENERATE: LlamaCppGenerate(),
            RequestKind.LOGLIKELIHOOD: NoLoglikelihood(),
        }

    @property
    def request_kinds(self) -> frozenset[RequestKind]:
        """Chat and generate: log-likelihood requests are refused (no prompt logprobs)."""
        return frozenset({RequestKind.CHAT, RequestKind.GENERATE})

    def apply_thinking(self, request: ChatRequest, mode: str) -> ChatRequest:
        """`chat_template_kwargs.enable_thinking`, which server-common.cpp hands to the template."""
        return template_switch(request, mode)

    def apply_stop_tokens(self, request: ChatRequest, token_ids: tuple[int, ...]) -> ChatRequest:
        return (
            request  # no stop_token_ids field (server-schema.cpp); the GGUF's end-of-generation tokens stop
        )

    def environment(self) -> dict[str, str]:
        """HF_HOME, so `-hf` downloads into the mounted hub/ whatever the image's HOME."""
        return {**super().environment(), "HF_HOME": self.cache_mount}

    def server_concurrency(self, info: dict[str, Any], preset: Preset) -> int:
        """/props `total_slots` (the -np slots), else the generic rule."""
        slots = info.get("total_slots")
        return slots if isinstance(slots, int) and slots > 0 else super().server_concurrency(info, preset)

    def launch_args(self, model: ModelSpec, serving: Serving, *, port: int) -> list[str]:
        gguf = gguf_of(model, serving.capabilities)
        args = ["-hf", gguf.hf if gguf is not None else model.hub_id, "--host", "127.0.0.1"]
        args += ["--port", str(port), "--jinja", "--metrics", "-ngl", "all", "-fa", "on"]
        return args + _batching(serving.preset) + self._cache_args(serving) + _offline()

    def _cache_args(self, serving: Serving) -> list[str]:
        kv = self.kv_cache_name(serving)
        return [] if kv is None else ["-ctk", kv, "-ctv", kv]


def _batching(preset: Preset) -> list[str]:
    """Slots over one shared KV pool: `-c` is the preset's KV budget and each slot is capped at the context;
    without a budget the pool is left to llama.cpp (the training context, fitted to the GPU)."""
    args = ["-np", str(preset.max_concurrent_requests), "--kv-unified"]
    if preset.max_batch_total_tokens is not None:
        args += ["-c", str(preset.max_batch_total_tokens)]
        args += ["--kv-unified-per-slot", str(preset.max_total_tokens)]
    prefill = preset.max_batch_prefill_tokens
    flag(args, "-b", prefill)
    flag(args, "-ub", min(prefill, UBATCH_MAX))
    return args


def _offline() -> list[str]:
    """`--offline` where the host runs the hub offline (llama.cpp reads no HF_HUB_OFFLINE)."""
    return ["--offline"] if hub_offline() else []
