"""What each pinned engine image can serve, and how: the engine capability table, as data with its sources.

One `EngineCapabilities` per engine release a pin (engines/pins.py) is built from: per model architecture,
the serving path (native kernels, a fallback, or none) and the knobs that path honours; the KV-cache formats
and which of them keep the fast attention backend; whether dtype and quantization combine; the request
limits (stop sequences, top logprobs, tool calls per turn, input limit); the container's needs (shared
memory, ports the engine binds on the host network, info endpoints) and the /metrics names. Every entry cites
the file it was read from and the ref it was read at: TGI from its repository at the pinned tag; vLLM and
SGLang (repositories too large to fetch whole here) from the newest stored copies of the files named, with
the pull request or release that dates the fact where the stored copy is not the pinned tag.

Adding a pin means adding its release here (tests/unit/test_capabilities.py fails for a pin without one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from evalclient.monitor.server_metrics import ServerMetricNames

ServingPath = Literal["native", "fallback", "unsupported"]


@dataclass(frozen=True)
class Source:
    """Where a fact was read: a file of the engine's repository, the ref it was read at, what it says."""

    file: str
    ref: str
    says: str

    def __str__(self) -> str:
        return f"{self.file} @ {self.ref}"


@dataclass(frozen=True)
class ArchitecturePath:
    """How one engine release serves one model architecture (config.json `architectures[0]`)."""

    path: ServingPath
    name: str
    """The engine's own name for the path (the model class it runs), for plans and reports."""
    quantize: frozenset[str] = frozenset()
    """Weight quantizations applied on this path (a preset's other ones are not)."""
    fp8_kv_cache: bool = True
    """Whether an fp8 KV cache is applied on this path."""
    default_dtype: str | None = None
    """The activation dtype when none is given (None: the checkpoint's)."""
    reason: str = ""
    """Why the path is a fallback or unsupported, in one line."""
    extra_args: tuple[str, ...] = ()
    """Launcher flags this path needs (a chat template the checkpoint lacks)."""
    shardable: bool = True
    """Whether the path serves the model tensor-parallel over several GPUs."""
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class KvCacheFormats:
    """The engine's names for the neutral fp8 KV-cache formats, and which keep its fast attention kernels."""

    names: Mapping[str, str]
    fast: frozenset[str]
    swap: str
    """What the engine does with the other formats (its attention backend changes)."""
    sources: tuple[Source, ...] = ()
    stand_in: str = ""
    """Why the engine's names are not fp8 at all (an 8-bit stand-in it serves instead); empty: they are."""


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask of a server launched with the engine's defaults."""

    stop_sequences: int | None
    """Stop sequences per request by default; None: no limit."""
    stop_sequences_setting: str | None
    """The launcher flag (`--name`) or environment variable (`env:NAME`) raising it."""
    top_logprobs: int | None
    top_logprobs_setting: str | None
    tool_calls_per_turn: int | None
    """Tool calls one assistant turn can carry; None: several."""
    input_limit_flag: str | None
    """A limit on prompt tokens apart from the context (prompt + answer); None: only the context."""
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class FixedPort:
    """A port the engine binds on the host network at a fixed default unless given one."""

    flag: str
    default: int
    sharded_only: bool
    what: str


@dataclass(frozen=True)
class ContainerNeeds:
    """What the engine's container needs from Docker, and where it describes itself."""

    shm_size: str | None
    ipc_host: bool
    ports: tuple[FixedPort, ...]
    info_paths: tuple[str, ...]
    """Endpoints describing the running server, tried in order."""
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class EngineCapabilities:
    """One engine release, as evalclient plans for it."""

    engine: str
    version: str
    architectures: Mapping[str, ArchitecturePath]
    dtype_with_quantize: bool
    """Whether a dtype can be given beside a quantization (TGI: one or the other)."""
    quantized_dtype: str | None
    """The activation dtype of a quantized model where no dtype can be given beside it."""
    batch_token_budget: bool
    """Whether a KV-cache token budget (the preset's max_batch_total_tokens) is applied."""
    kv_cache: KvCacheFormats
    limits: RequestLimits
    container: ContainerNeeds
    metrics: ServerMetricNames
    sources: tuple[Source, ...] = field(default=())
    """Where the dtype, quantization, budget and metric facts were read."""

    gguf: Mapping[str, GgufWeights] | None = None
    """The GGUF file served for each model (hub id), for engines that load GGUF only; None: the engine loads
    the hub checkpoint itself. A model without an entry is refused before any container."""
    memory_fraction_note: str = ""
    """Why gpu_memory_fraction is not applied (empty: it is)."""
    unserved: tuple[str, ...] = ()
    """What the release cannot serve and what runs instead, recorded with every deployment."""

    def architecture(self, name: str) -> ArchitecturePath | None:
        return self.architectures.get(name)


@dataclass(frozen=True)
class GgufWeights:
    """A model's weights as a GGUF file on the hub: the repository and the quantization tag `-hf` picks."""

    repo: str
    quant: str
    sources: tuple[Source, ...] = ()

    @property
    def hf(self) -> str:
        """`<repo>:<quant>`, the form of llama.cpp's `-hf` (common/arg.cpp)."""
        return f"{self.repo}:{self.quant}"


# --- TGI 3.3.7 (huggingface/text-generation-inference @ v3.3.7) ---------------------------------------------

_TGI_REF = "v3.3.7"
_TGI_MODELS = "server/text_generation_server/models/__init__.py"
_TGI_TRANSFORMERS = "server/text_generation_server/models/transformers_flash_causal_lm.py"
_TGI_FP16_DEFAULT = Source(
    "server/text_generation_server/models/flash_causal_lm.py",
    _TGI_REF,
    "FlashCausalLM(default_dtype=torch.float16): `dtype = default_dtype if dtype is None else dtype`",
)

TGI_3_3_7 = EngineCapabilities(
    engine="tgi",
    version="3.3.7",
    architectures={
        "Qwen2ForCausalLM": ArchitecturePath(
            "native",
            "FlashCausalLM with TGI's Qwen2 kernels",
            quantize=frozenset({"fp8", "awq", "gptq", "marlin", "eetq", "bitsandbytes", "bitsandbytes-nf4"}),
            default_dtype="float16",
            sources=(
                Source(
                    _TGI_MODELS,
                    _TGI_REF,
                    "`if model_type == QWEN2: if FLASH_ATTENTION: return FlashCausalLM("
                    "model_class=Qwen2ForCausalLM, quantize=quantize, kv_cache_dtype=kv_cache_dtype, ...)`",
                ),
                Source(
                    "server/text_generation_server/layers/attention/kv_cache.py",
                    _TGI_REF,
                    "fp8 KV cache (float8_e4m3fn, float8_e5m2) on `ATTENTION == 'flashinfer' and SYSTEM == "
                    "'cuda'`, the launcher's default attention for head_dim 128 (launcher/src/main.rs "
                    "resolve_attention)",
                ),
                _TGI_FP16_DEFAULT,
            ),
        ),
        "Qwen3ForCausalLM": ArchitecturePath(
            "fallback",
            "TransformersFlashCausalLM (transformers' Qwen3 modelling on TGI's attention)",
            quantize=frozenset({"bitsandbytes"}),
            fp8_kv_cache=False,
            default_dtype="float16",
            reason="TGI 3.3.7 has no Qwen3 kernels; qwen3 resolves through transformers 4.51.0's model table",
            sources=(
                Source(
                    _TGI_MODELS,
                    _TGI_REF,
                    "no QWEN3 branch; `if model_type in modeling_auto."
                    "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES` ... `return TransformersFlashCausalLM.fallback(...)` "
                    "(no kv_cache_dtype argument)",
                ),
                Source(
                    _TGI_TRANSFORMERS,
                    _TGI_REF,
                    '`load_in_8bit=quantize == "bitsandbytes"` is the only '
                    'quantization applied; `default_dtype=torch.float16`; `tp_plan="auto" if world_size > 1`',
                ),
                Source(
                    "server/uv.lock",
                    _TGI_REF,
                    "transformers 4.51.0 (the image installs it with `uv sync --frozen`, Dockerfile)",
                ),
            ),
        ),
        "QWenLMHeadModel": ArchitecturePath(
            "unsupported",
            "none",
            reason="model_type qwen has no TGI kernels and no transformers class; its remote-code tokenizer "
            "imports tiktoken, which the image does not install, and the checkpoints have no chat template "
            '(/v1/chat/completions answers 422 "Template error: template not found")',
            sources=(
                Source(
                    _TGI_MODELS,
                    _TGI_REF,
                    "model_type qwen: no branch, not in MODEL_FOR_CAUSAL_LM_MAPPING_"
                    "NAMES; only the remote-code `auto_map` path (CausalLM.fallback) remains",
                ),
                Source(
                    "server/pyproject.toml",
                    _TGI_REF,
                    "dependencies list no tiktoken; server/uv.lock has no tiktoken package",
                ),
                Source(
                    "router/src/infer/mod.rs",
                    _TGI_REF,
                    "`self.chat_template.as_ref().ok_or_else(|| "
                    "InferError::TemplateError(ErrorKind::TemplateNotFound.into()))`, HTTP 422",
                ),
            ),
        ),
    },
    dtype_with_quantize=False,
    quantized_dtype="float16",
    batch_token_budget=False,
    kv_cache=KvCacheFormats(
        names={"fp8_e4m3": "fp8_e4m3fn", "fp8_e5m2": "fp8_e5m2"},
        fast=frozenset({"fp8_e4m3", "fp8_e5m2"}),
        swap="",
        sources=(
            Source(
                "launcher/src/main.rs",
                _TGI_REF,
                "enum KVCacheDtype { fp8_e4m3fn, fp8_e5m2 }: "
                '"the only supported value are `fp8_e4m3fn` and `fp8_e5m2` on CUDA"',
            ),
        ),
    ),
    limits=RequestLimits(
        stop_sequences=4,
        stop_sequences_setting="--max-stop-sequences",
        top_logprobs=5,
        top_logprobs_setting="--max-top-n-tokens",
        tool_calls_per_turn=1,
        input_limit_flag="--max-input-tokens",
        sources=(
            Source(
                "launcher/src/main.rs",
                _TGI_REF,
                '`#[clap(default_value = "4")] max_stop_sequences`, '
                '`#[clap(default_value = "5")] max_top_n_tokens`, `max_input_tokens`',
            ),
            Source(
                "router/src/infer/tool_grammar.rs",
                _TGI_REF,
                "the tool grammar is one object whose "
                "`function` property is one of the tools: one call per turn",
            ),
        ),
    ),
    container=ContainerNeeds(
        shm_size="1g",
        ipc_host=False,
        ports=(
            FixedPort("--prometheus-port", 9000, False, "its Prometheus listener, bound at --hostname"),
            FixedPort("--master-port", 29500, True, "torch.distributed's rendezvous of the shards"),
        ),
        info_paths=("/info",),
        sources=(
            Source("README.md", _TGI_REF, "A note on Shared Memory (shm): `--shm-size 1g` for NCCL"),
            Source(
                "launcher/src/main.rs",
                _TGI_REF,
                '`#[clap(default_value = "9000")] prometheus_port`, '
                '`#[clap(default_value = "29500")] master_port` (MASTER_PORT of the shards)',
            ),
            Source(
                "router/src/server.rs",
                _TGI_REF,
                "`p_addr.set_port(prometheus_port)`; `PrometheusBuilder::new().with_http_listener(p_addr)`",
            ),
        ),
    ),
    metrics=ServerMetricNames(
        engine="tgi",
        running_batch=("tgi_batch_current_size",),
        queue_size=("tgi_queue_size",),
        kv_cache_tokens=("tgi_batch_current_max_tokens",),
        kv_budget_tokens=("tgi_batch_max_total_tokens",),
        prompt_tokens=("tgi_request_input_length_sum",),
        generation_tokens=("tgi_request_generated_tokens_sum",),
    ),
    sources=(
        Source(
            "server/text_generation_server/cli.py",
            _TGI_REF,
            '"Only 1 can be set between `dtype` and '
            '`quantize`, as they both decide how goes the final model."',
        ),
        Source(
            "backends/v3/src/lib.rs",
            _TGI_REF,
            '"`--max-batch-total-tokens` is deprecated for Flash '
            'Attention models." then "Inferred max batch total tokens: N"',
        ),
        Source(
            "backends/v3/src/lib.rs",
            _TGI_REF,
            '`metrics::gauge!("tgi_batch_max_total_tokens")`; '
            "router/src/server.rs: tgi_request_* histograms and counters",
        ),
    ),
)

# --- vLLM (vllm-project/vllm) -------------------------------------------------------------------------------

_VLLM_REGISTRY = "vllm/model_executor/models/registry.py"
_VLLM_QUANTIZE = frozenset({"fp8", "awq", "gptq", "marlin", "bitsandbytes"})
_VLLM_NATIVE = {
    arch: ArchitecturePath(
        "native",
        f"vLLM's {arch}",
        quantize=_VLLM_QUANTIZE,
        sources=(Source(_VLLM_REGISTRY, "main (2025-2026 copies)", f'_TEXT_GENERATION_MODELS["{arch}"]'),),
    )
    for arch in ("Qwen2ForCausalLM", "Qwen3ForCausalLM")
}
_VLLM_KV = KvCacheFormats(
    names={"fp8_e4m3": "fp8_e4m3", "fp8_e5m2": "fp8_e5m2"},
    fast=frozenset({"fp8_e4m3"}),
    swap="FlashAttention maps only fp8/fp8_e4m3 to a kernel dtype, so fp8_e5m2 runs on another attention "
    "backend (FlashInfer or Triton) or not at all",
    sources=(
        Source(
            "vllm/config/cache.py",
            "main (2026)",
            "CacheDType: auto, ..., fp8, fp8_e4m3, fp8_e5m2, ...; "
            '"CUDA 11.8+ supports fp8 (=fp8_e4m3) and fp8_e5m2"',
        ),
        Source(
            "vllm/v1/attention/backends/flash_attn.py",
            "main (2026)",
            "get_fp8_dtype_for_flashattn: `if "
            'kv_cache_dtype in ("fp8", "fp8_e4m3"): return torch.float8_e4m3fn` else ValueError',
        ),
    ),
)
_VLLM_CONTAINER = ContainerNeeds(
    shm_size=None,
    ipc_host=True,
    ports=(),
    info_paths=("/v1/models",),
    sources=(
        Source(
            "docs/getting_started/installation/gpu.cuda.inc.md",
            "main (2026)",
            '"You can either use the '
            '`ipc=host` flag or `--shm-size` flag ... particularly for tensor parallel inference"',
        ),
        Source(
            "vllm/v1/executor/multiproc_executor.py",
            "main (2025)",
            "`get_distributed_init_method("
            '"127.0.0.1", get_open_port())`: tensor parallelism binds a free port, none fixed',
        ),
        Source("vllm/entrypoints/openai/protocol.py", "main (2026)", "ModelCard.max_model_len (/v1/models)"),
    ),
)
_VLLM_METRICS = ServerMetricNames(
    engine="vllm",
    running_batch=("vllm:num_requests_running",),
    queue_size=("vllm:num_requests_waiting",),
    kv_cache_fraction=("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    prompt_tokens=("vllm:prompt_tokens_total",),
    generation_tokens=("vllm:generation_tokens_total",),
)
_VLLM_SOURCES = (
    Source(
        "vllm/model_executor/layers/quantization/fp8.py",
        "main (2025)",
        "get_supported_act_dtypes: "
        "[torch.bfloat16, torch.half]; a bf16/fp16 checkpoint's weights are quantized at load",
    ),
    Source(
        "vllm/v1/metrics/loggers.py",
        "main (2025)",
        "vllm:num_requests_running, vllm:num_requests_waiting, "
        "vllm:kv_cache_usage_perc, vllm:prompt_tokens, vllm:generation_tokens (counters: _total); "
        "vllm:gpu_cache_usage_perc removed by vllm-project/vllm#29330 (v0.12)",
    ),
    Source(
        "vllm/config/cache.py",
        "main (2026)",
        "no KV-cache token budget flag: the cache is sized from --gpu-memory-utilization",
    ),
)
_TOOLS = Source(
    "vllm/tool_parsers/hermes_tool_parser.py",
    "main (2026)",
    "one ToolCall per `<tool_call>...</tool_call>` match: several per turn",
)


def _vllm(
    version: str, qwen_v1: ArchitecturePath, stop_sequences: int | None, stop_source: Source
) -> EngineCapabilities:
    return EngineCapabilities(
        engine="vllm",
        version=version,
        architectures={**_VLLM_NATIVE, "QWenLMHeadModel": qwen_v1},
        dtype_with_quantize=True,
        quantized_dtype=None,
        batch_token_budget=False,
        kv_cache=_VLLM_KV,
        limits=RequestLimits(
            stop_sequences=stop_sequences,
            stop_sequences_setting="env:VLLM_MAX_STOP_STRINGS" if stop_sequences is not None else None,
            top_logprobs=20,
            top_logprobs_setting="--max-logprobs",
            tool_calls_per_turn=None,
            input_limit_flag=None,
            sources=(
                stop_source,
                Source("vllm/config/model.py", "main (2026)", "`max_logprobs: int = 20`"),
                _TOOLS,
            ),
        ),
        container=_VLLM_CONTAINER,
        metrics=_VLLM_METRICS,
        sources=_VLLM_SOURCES,
    )


VLLM_0_33_0 = _vllm(
    "0.33.0",
    ArchitecturePath(
        "unsupported",
        "none",
        reason='vLLM removed QWenLMHeadModel after v0.23.0 ("Model architecture QWenLMHeadModel was '
        'supported in vLLM until v0.23.0, and is not supported anymore")',
        sources=(
            Source(
                _VLLM_REGISTRY,
                "main after vllm-project/vllm#45131 (merged 2026-06-10; v0.24.0 2026-07-01)",
                '_PREVIOUSLY_SUPPORTED_MODELS: `"QWenLMHeadModel": "0.23.0"`',
            ),
        ),
    ),
    4,
    Source(
        "vllm/entrypoints/openai (request parsing)",
        "vllm-project/vllm#51447 (merged 2026-08-07, before v0.33.0)",
        '"public stop lists are limited to four entries at request parsing"; VLLM_MAX_STOP_STRINGS raises it',
    ),
)

VLLM_0_21_0 = _vllm(
    "0.21.0",
    ArchitecturePath(
        "native",
        "vLLM's QWenLMHeadModel (chat template: vLLM's built-in ChatML for Qwen *-Chat)",
        quantize=_VLLM_QUANTIZE,
        sources=(
            Source(
                _VLLM_REGISTRY,
                "main before vllm-project/vllm#45131 (v0.21.0 2026-05)",
                '`"QWenLMHeadModel": ("qwen", "QWenLMHeadModel")`',
            ),
            Source(
                "vllm/transformers_utils/chat_templates/registry.py",
                "main (2025)",
                "model_type qwen: `if "
                'tokenizer_name_or_path.endswith("-Chat"): return CHAT_TEMPLATES_DIR / '
                '"template_chatml.jinja"`',
            ),
            Source("requirements/common.txt", "main (2026)", "`tiktoken >= 0.6.0` (Qwen v1's tokenizer)"),
        ),
    ),
    None,
    Source(
        "vllm/entrypoints/openai/protocol.py",
        "v0.21.0 (2026-05)",
        "no cap on `stop` before vllm-project/vllm#51447 (2026-08-07)",
    ),
)

# --- SGLang 0.5.19 (sgl-project/sglang) ---------------------------------------------------------------------

_SGLANG_REF = "main (2026)"
_SGLANG_QUANTIZE = frozenset({"fp8", "awq", "gptq", "marlin", "bitsandbytes"})
SGLANG_0_5_19 = EngineCapabilities(
    engine="sglang",
    version="0.5.19",
    architectures={
        "Qwen2ForCausalLM": ArchitecturePath(
            "native",
            "SGLang's Qwen2ForCausalLM",
            quantize=_SGLANG_QUANTIZE,
            sources=(
                Source("python/sglang/srt/models/qwen2.py", _SGLANG_REF, "EntryClass = Qwen2ForCausalLM"),
            ),
        ),
        "Qwen3ForCausalLM": ArchitecturePath(
            "native",
            "SGLang's Qwen3ForCausalLM",
            quantize=_SGLANG_QUANTIZE,
            sources=(
                Source("python/sglang/srt/models/qwen3.py", _SGLANG_REF, "EntryClass = Qwen3ForCausalLM"),
            ),
        ),
        "QWenLMHeadModel": ArchitecturePath(
            "native",
            "SGLang's QWenLMHeadModel with its built-in chatml template",
            quantize=_SGLANG_QUANTIZE,
            extra_args=("--chat-template", "chatml"),
            sources=(
                Source("python/sglang/srt/models/qwen.py", _SGLANG_REF, "EntryClass = QWenLMHeadModel"),
                Source(
                    "python/sglang/srt/parser/template_manager.py",
                    _SGLANG_REF,
                    "no template in the "
                    "tokenizer: \"No chat template found, defaulting to 'string' content format\"; no path "
                    "match for Qwen v1, so `--chat-template chatml` (parser/conversation.py) is given",
                ),
                Source(
                    "python/pyproject.toml",
                    "v0.5.1.post3",
                    "tiktoken among the runtime dependencies (not re-read at v0.5.19)",
                ),
            ),
        ),
    },
    dtype_with_quantize=True,
    quantized_dtype=None,
    batch_token_budget=True,
    kv_cache=KvCacheFormats(
        names={"fp8_e4m3": "fp8_e4m3", "fp8_e5m2": "fp8_e5m2"},
        fast=frozenset({"fp8_e4m3"}),
        swap='"FlashAttention3 only supports fp8_e4m3 if using FP8; Setting attention backend to triton."',
        sources=(
            Source(
                "python/sglang/srt/server_args.py",
                _SGLANG_REF,
                "--kv-cache-dtype choices: auto, fp8_e5m2, fp8_e4m3, ...",
            ),
            Source(
                "python/sglang/srt/arg_groups/overrides.py",
                _SGLANG_REF,
                '`if attention_backend == "fa3" '
                'and kv_cache_dtype == "fp8_e5m2"`: attention_backend = "triton"',
            ),
        ),
    ),
    limits=RequestLimits(
        stop_sequences=None,
        stop_sequences_setting=None,
        top_logprobs=None,
        top_logprobs_setting=None,
        tool_calls_per_turn=None,
        input_limit_flag=None,
        sources=(
            Source(
                "python/sglang/srt/sampling/sampling_params.py",
                _SGLANG_REF,
                "`stop` normalised to a list, no cap on its length",
            ),
            Source(
                "python/sglang/srt/function_call/qwen25_detector.py",
                _SGLANG_REF,
                'several `<tool_call>` blocks per turn, `tool_call_separator = "\\n"`',
            ),
            Source(
                "python/sglang/srt/managers/tokenizer_manager.py",
                _SGLANG_REF,
                '"The input ({n} tokens) '
                "is longer than the model's context length\": the context is the only input limit",
            ),
        ),
    ),
    container=ContainerNeeds(
        shm_size="32g",
        ipc_host=False,
        ports=(
            FixedPort("--nccl-port", 0, True, "torch.distributed's rendezvous (a random free port if none)"),
        ),
        info_paths=("/server_info", "/get_server_info"),
        sources=(
            Source(
                "docs/get_started/install.md",
                "main (2025)",
                "`docker run --gpus all --shm-size 32g ... python3 -m sglang.launch_server`",
            ),
            Source(
                "python/sglang/srt/entrypoints/http_server.py",
                _SGLANG_REF,
                "`/server_info` (server args, "
                "max_total_num_tokens, internal_states); `/get_server_info` deprecated, same answer",
            ),
            Source(
                "python/sglang/srt/server_args.py",
                _SGLANG_REF,
                "`if server_args.nccl_port is None: nccl_port = get_free_port()`",
            ),
        ),
    ),
    metrics=ServerMetricNames(
        engine="sglang",
        running_batch=("sglang:num_running_reqs",),
        queue_size=("sglang:num_queue_reqs",),
        kv_cache_fraction=("sglang:token_usage",),
        prompt_tokens=("sglang:prompt_tokens_total",),
        generation_tokens=("sglang:generation_tokens_total",),
    ),
    sources=(
        Source(
            "python/sglang/srt/layers/quantization/fp8.py",
            _SGLANG_REF,
            "get_supported_act_dtypes: "
            "[torch.bfloat16, torch.half]; bf16 checkpoints quantized to fp8 at load",
        ),
        Source("python/sglang/srt/server_args.py", _SGLANG_REF, "--max-total-tokens: the token pool's size"),
        Source(
            "python/sglang/srt/observability/metrics_collector.py",
            _SGLANG_REF,
            "sglang:num_running_reqs, "
            "sglang:num_queue_reqs, sglang:token_usage, sglang:prompt_tokens_total, "
            "sglang:generation_tokens_total (with --enable-metrics)",
        ),
    ),
)

# --- llama.cpp b11312 (ggml-org/llama.cpp @ 0c1e57098bba43ac29e6e3b677cdceebdd22334f) -----------------------
# Read from the tree llama-cpp-python 0.3.36's sdist vendors (vendor/llama.cpp; its CHANGELOG: "update
# llama.cpp to ggml-org/llama.cpp@0c1e57098"), which is build b11312: common/build-info.cpp.in names a build
# "b<LLAMA_BUILD_NUMBER>-<commit>", and public notes pin "b11312-0c1e57098" (dated 2026-10-01).

_LC_REF = "b11312"
_LC_SERVER = "tools/server/server.cpp"
_LC_ARCH = Source(
    "src/llama-arch.cpp",
    _LC_REF,
    'LLM_ARCH_QWEN "qwen", LLM_ARCH_QWEN2 "qwen2", LLM_ARCH_QWEN3 "qwen3": GGUF architectures it loads',
)
_LC_ONE_GPU = (
    "evalclient runs llama.cpp on one GPU: its multi-GPU split (-sm layer|row|tensor, common/arg.cpp) takes "
    "every visible device, no GPU count"
)


def _llamacpp_path(arch: str, gguf_arch: str) -> ArchitecturePath:
    return ArchitecturePath(
        "native",
        f"llama.cpp's {gguf_arch} graph on a GGUF of {arch}",
        shardable=False,
        reason=_LC_ONE_GPU,
        sources=(_LC_ARCH, Source("conversion/qwen.py", _LC_REF, f"@ModelBase.register(... {arch!r} ...)")),
    )


_LC_GGUF = {
    "Qwen/Qwen2.5-7B-Instruct": GgufWeights(
        "lmstudio-community/Qwen2.5-7B-Instruct-GGUF",
        "Q8_0",
        (
            Source(
                "huggingface.co/lmstudio-community/Qwen2.5-7B-Instruct-GGUF (file list)",
                "commits 2eecdd3, a58828f",
                "Qwen2.5-7B-Instruct-Q8_0.gguf 8.1 GB beside Q3_K_L, Q4_K_M, Q6_K; no 16-bit file",
            ),
        ),
    ),
    "Qwen/Qwen3-8B": GgufWeights(
        "bartowski/Qwen_Qwen3-8B-GGUF",
        "Q8_0",
        (
            Source(
                "bartowski/Qwen_Qwen3-8B-GGUF model card (a stored copy)",
                "quantized with llama.cpp b5200",
                "Q8_0 8.71 GB (and bf16 16.39 GB); `huggingface-cli download bartowski/Qwen_Qwen3-8B-GGUF`",
            ),
        ),
    ),
}
"""The GGUF each sweep model is served from; the others have none known here and are refused. Both are
third-party Q8_0 conversions (8-bit blocks): the nearest llama.cpp serves to the presets' 16-bit and fp8."""

LLAMACPP_B11312 = EngineCapabilities(
    engine="llamacpp",
    version=_LC_REF,
    architectures={
        "Qwen2ForCausalLM": _llamacpp_path("Qwen2ForCausalLM", "qwen2"),
        "Qwen3ForCausalLM": _llamacpp_path("Qwen3ForCausalLM", "qwen3"),
        "QWenLMHeadModel": _llamacpp_path("QWenLMHeadModel", "qwen"),
    },
    dtype_with_quantize=False,
    quantized_dtype=None,
    batch_token_budget=True,
    kv_cache=KvCacheFormats(
        names={"fp8_e4m3": "q8_0", "fp8_e5m2": "q8_0"},
        fast=frozenset({"fp8_e4m3", "fp8_e5m2"}),
        swap="",
        stand_in="llama.cpp has no fp8 cache type; q8_0 (8-bit blocks) is its 8-bit one, with flash "
        "attention",
        sources=(
            Source(
                "common/arg.cpp",
                _LC_REF,
                "kv_cache_types = {F32, F16, BF16, Q8_0, Q4_0, Q4_1, IQ4_NL, Q5_0, Q5_1} for -ctk/-ctv",
            ),
            Source(
                "src/llama-context.cpp",
                _LC_REF,
                '"quantized V cache was requested, but this requires Flash Attention"',
            ),
        ),
    ),
    limits=RequestLimits(
        stop_sequences=None,
        stop_sequences_setting=None,
        top_logprobs=None,
        top_logprobs_setting=None,
        tool_calls_per_turn=None,
        input_limit_flag=None,
        sources=(
            Source(
                "tools/server/server-schema.cpp",
                _LC_REF,
                '"stop": every non-empty string of the array becomes an antiprompt, no cap; n_probs '
                "(alias logprobs) has no limit",
            ),
            Source(
                "tools/server/server-common.cpp",
                _LC_REF,
                "oaicompat_chat_params_parse: `parallel_tool_calls` defaults to the template's "
                '"supports_parallel_tool_calls"; tools need --jinja; top_logprobs defaults to 20',
            ),
            Source(
                "tools/server/server-context.cpp",
                _LC_REF,
                '"input (%d tokens) is larger than the max context size (%d tokens)": a prompt is limited '
                "only by its slot's context",
            ),
        ),
    ),
    container=ContainerNeeds(
        shm_size=None,
        ipc_host=False,
        ports=(),
        info_paths=("/props",),
        sources=(
            Source(
                _LC_SERVER,
                _LC_REF,
                "routes GET /health, /metrics, /props, /v1/models; POST /v1/chat/completions, "
                "/v1/completions",
            ),
            Source(
                "tools/server/server-context.cpp",
                _LC_REF,
                "get_res_props: default_generation_settings {params, n_ctx}, total_slots, model_alias, "
                "model_path, chat_template, build_info, ...",
            ),
            Source(
                "tools/server/server-http.cpp",
                _LC_REF,
                'every route but the web UI answers 503 {"message": "Loading model", "type": '
                '"unavailable_error"} until the model is loaded; /health then answers {"status": "ok"}',
            ),
        ),
    ),
    metrics=ServerMetricNames(
        engine="llamacpp",
        running_batch=("llamacpp:requests_processing",),
        queue_size=("llamacpp:requests_deferred",),
        prompt_tokens=("llamacpp:prompt_tokens_total",),
        generation_tokens=("llamacpp:tokens_predicted_total",),
    ),
    sources=(
        Source(
            "tools/server/server-task.cpp",
            _LC_REF,
            "to_metrics (with --metrics): counters llamacpp:prompt_tokens_total (excluding cached), "
            "tokens_predicted_total, ...; gauges requests_processing, requests_deferred, ...; no KV-cache "
            "gauge",
        ),
        Source(
            "tools/server/server.cpp",
            _LC_REF,
            "without -c the KV pool is the model's training context, fitted to device memory (common/fit.cpp "
            "for n_ctx == 0); --kv-unified-per-slot caps each slot's context",
        ),
        Source(
            "tools/server/server-common.cpp",
            _LC_REF,
            'oaicompat_completion_params_parse: `if echo: throw "Only no echo is supported"`',
        ),
    ),
    gguf=_LC_GGUF,
    memory_fraction_note="llama.cpp has no memory fraction; its KV pool is -c tokens "
    "(max_batch_total_tokens), else the model's training context fitted to the GPU (--fit)",
    unserved=(
        "no prompt log-likelihoods (no prompt logprobs: /v1/completions refuses echo, n_probs covers "
        "generated tokens only): multiple-choice tasks run generatively",
    ),
)

RELEASES: tuple[EngineCapabilities, ...] = (
    TGI_3_3_7,
    VLLM_0_33_0,
    VLLM_0_21_0,
    SGLANG_0_5_19,
    LLAMACPP_B11312,
)
"""Every engine release a pin is built from."""


def release(engine: str, version: str) -> EngineCapabilities | None:
    """The capabilities of one engine release, None when the table has none."""
    return next((r for r in RELEASES if r.engine == engine and r.version == version), None)
