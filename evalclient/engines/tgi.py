"""Text Generation Inference: preset → text-generation-launcher flags, TGI's APIs, metrics and quirks."""

from __future__ import annotations

import re
from typing import Any

from evalclient.client.protocols import OpenAIChat, Protocol, TGIGenerate, TGILoglikelihood
from evalclient.client.requests import ChatRequest, RequestKind
from evalclient.config import ModelSpec
from evalclient.engines.base import EngineAdapter, Fp8Support, Ports, flag
from evalclient.engines.capabilities import TGI_3_3_7
from evalclient.engines.pins import TGI_PIN
from evalclient.engines.serving import Serving
from evalclient.engines.thinking import soft_switch

TGI_IMAGE = TGI_PIN.image

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
    metric_names = TGI_3_3_7.metrics

    def protocols(self) -> dict[RequestKind, Protocol]:
        return {
            RequestKind.CHAT: OpenAIChat(full_sampling=False),
            RequestKind.GENERATE: TGIGenerate(),
            RequestKind.LOGLIKELIHOOD: TGILoglikelihood(),
        }

    def apply_thinking(self, request: ChatRequest, mode: str) -> ChatRequest:
        return soft_switch(request, mode)

    def apply_stop_tokens(self, request: ChatRequest, token_ids: tuple[int, ...]) -> ChatRequest:
        return request  # TGI's chat API takes stop strings only; its models end turns with their eos

    def kv_budget(self, logs: str, info: dict[str, Any], configured: int | None) -> int | None:
        """The budget from the router's startup log, else /info, else the preset; the monitor prefers the
        `tgi_batch_max_total_tokens` gauge of each scrape where TGI exports it."""
        found = _BUDGET_LOG.findall(logs)
        return int(found[-1]) if found else super().kv_budget(logs, info, configured)

    def launch_args(self, model: ModelSpec, serving: Serving, *, port: int) -> list[str]:
        preset = serving.preset
        args = ["--model-id", model.hub_id, "--revision", model.revision, "--hostname", "127.0.0.1"]
        args += ["--port", str(port), "--usage-stats", "off", "--enable-prefill-logprobs"]
        if (
            preset.quantize is None
        ):  # the shard refuses both: "Only 1 can be set between `dtype` and `quantize`"
            flag(args, "--dtype", preset.dtype)
        flag(args, "--quantize", preset.quantize)
        flag(args, "--kv-cache-dtype", self.kv_cache_name(serving))
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

    def port_args(self, ports: Ports, shards: int) -> list[str]:
        """TGI binds a Prometheus listener (default 9000) and, sharded, torch.distributed's master port
        (default 29500) on the host network: each deployment gets its own, so two never collide."""
        args = ["--prometheus-port", str(ports.metrics)]
        if shards > 1:
            args += ["--master-port", str(ports.rendezvous)]
        return args
