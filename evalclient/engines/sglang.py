"""SGLang's server: preset → `python3 -m sglang.launch_server` flags."""

from __future__ import annotations

from typing import Any

from evalclient.client.protocols import CompletionsGenerate, OpenAIChat, Protocol, SGLangLoglikelihood
from evalclient.client.requests import ChatRequest, RequestKind
from evalclient.config import ModelSpec, Preset
from evalclient.engines.base import EngineAdapter, Fp8Support, Ports, flag
from evalclient.engines.capabilities import SGLANG_0_5_19
from evalclient.engines.pins import SGLANG_PIN
from evalclient.engines.serving import Serving
from evalclient.engines.thinking import template_switch

SGLANG_IMAGE = SGLANG_PIN.image
TOOL_CALLS = ["--tool-call-parser", "qwen25"]
"""Parse Qwen's `<tool_call>` output into tool calls (SGLang's parser for Qwen2.5 and Qwen3); without it the
markup stays in the text, which the client still reads."""


class SGLangAdapter(EngineAdapter):
    """SGLang (`lmsysorg/sglang`); the image has no server entrypoint, so the command is given in full."""

    kind = "sglang"
    default_image = SGLANG_IMAGE
    cache_mount = "/root/.cache/huggingface"
    shard_flag = "--tp-size"
    # Online fp8 needs FP8 tensor cores (8.9+): SGLang's Marlin fallback covers only some pre-quantized
    # checkpoint formats; its fp8 KV cache needs the flashinfer/triton attention backends (8.0+).
    fp8 = Fp8Support((8, 9), None, (8, 0), "SGLang quantization and quantized KV cache docs")
    metric_names = SGLANG_0_5_19.metrics

    def protocols(self) -> dict[RequestKind, Protocol]:
        return {
            RequestKind.CHAT: OpenAIChat(full_sampling=True),
            RequestKind.GENERATE: CompletionsGenerate(),
            RequestKind.LOGLIKELIHOOD: SGLangLoglikelihood(),
        }

    def apply_thinking(self, request: ChatRequest, mode: str) -> ChatRequest:
        return template_switch(request, mode)

    def entrypoint(self) -> tuple[str, ...] | None:
        return ("python3", "-m", "sglang.launch_server")

    def launch_args(self, model: ModelSpec, serving: Serving, *, port: int) -> list[str]:
        preset = serving.preset
        args = ["--model-path", model.hub_id, "--revision", model.revision, "--host", "127.0.0.1"]
        args += ["--port", str(port), "--enable-metrics"]
        flag(args, "--dtype", preset.dtype)
        flag(args, "--quantization", preset.quantize)
        flag(args, "--kv-cache-dtype", self.kv_cache_name(serving))
        flag(args, "--max-running-requests", preset.max_concurrent_requests)
        flag(args, "--context-length", preset.max_total_tokens)
        flag(args, "--chunked-prefill-size", preset.max_batch_prefill_tokens)
        flag(args, "--max-total-tokens", preset.max_batch_total_tokens)
        flag(args, "--mem-fraction-static", preset.gpu_memory_fraction)
        args += TOOL_CALLS
        if model.trust_remote_code:
            args.append("--trust-remote-code")
        return args

    def port_args(self, ports: Ports, shards: int) -> list[str]:
        """Sharded, torch.distributed's rendezvous on the leased port (else a random free one, picked before
        it is bound: two deployments starting together could pick the same)."""
        return ["--nccl-port", str(ports.rendezvous)] if shards > 1 else []

    def server_concurrency(self, info: dict[str, Any], preset: Preset) -> int:
        """/server_info's effective limit (its first data-parallel rank's), else the generic rule."""
        states = info.get("internal_states")
        if isinstance(states, list) and states and isinstance(states[0], dict):
            effective = states[0].get("effective_max_running_requests_per_dp")
            if isinstance(effective, int) and effective > 0:
                return effective
        return super().server_concurrency(info, preset)
