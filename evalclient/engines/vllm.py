"""vLLM's OpenAI-compatible server: preset → `vllm serve` flags."""

from __future__ import annotations

from evalclient.client.protocols import CompletionsGenerate, CompletionsLoglikelihood, OpenAIChat, Protocol
from evalclient.client.requests import ChatRequest, RequestKind
from evalclient.config import ModelSpec
from evalclient.engines.base import EngineAdapter, Fp8Support, flag
from evalclient.engines.capabilities import VLLM_0_33_0
from evalclient.engines.pins import VLLM_PIN
from evalclient.engines.serving import Serving
from evalclient.engines.thinking import template_switch

VLLM_IMAGE = VLLM_PIN.image
TOOL_CALLS = ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
"""Parse Qwen's `<tool_call>` output into tool calls (Qwen's documented parser for Qwen2.5 and Qwen3); without
these flags vLLM refuses every request that offers tools (bfcl's native mode) with HTTP 400."""


class VLLMAdapter(EngineAdapter):
    """vLLM (`vllm/vllm-openai`); the image's entrypoint is the API server, so only arguments are given."""

    kind = "vllm"
    default_image = VLLM_IMAGE
    cache_mount = "/root/.cache/huggingface"
    shard_flag = "--tensor-parallel-size"
    # vLLM docs: FP8 compute (W8A8) on compute capability 8.9+, weight-only W8A16 via FP8 Marlin from 7.5;
    # its fp8 KV cache runs on every GPU it supports (7.5+).
    fp8 = Fp8Support((8, 9), (7, 5), (7, 5), "vLLM FP8 W8A8 and quantized KV cache docs")
    metric_names = VLLM_0_33_0.metrics

    def protocols(self) -> dict[RequestKind, Protocol]:
        return {
            RequestKind.CHAT: OpenAIChat(full_sampling=True),
            RequestKind.GENERATE: CompletionsGenerate(),
            RequestKind.LOGLIKELIHOOD: CompletionsLoglikelihood(),
        }

    def apply_thinking(self, request: ChatRequest, mode: str) -> ChatRequest:
        return template_switch(request, mode)

    def launch_args(self, model: ModelSpec, serving: Serving, *, port: int) -> list[str]:
        preset = serving.preset
        args = ["--model", model.hub_id, "--revision", model.revision, "--host", "127.0.0.1"]
        args += ["--port", str(port)]
        flag(args, "--dtype", preset.dtype)
        flag(args, "--quantization", preset.quantize)
        flag(args, "--kv-cache-dtype", self.kv_cache_name(serving))
        flag(args, "--max-num-seqs", preset.max_concurrent_requests)
        flag(args, "--max-model-len", preset.max_total_tokens)
        flag(args, "--max-num-batched-tokens", preset.max_batch_prefill_tokens)
        flag(args, "--gpu-memory-utilization", preset.gpu_memory_fraction)
        args += TOOL_CALLS
        if model.trust_remote_code:
            args.append("--trust-remote-code")
        return args
