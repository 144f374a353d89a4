"""What TGI 3.3.7 does with the model it is asked to serve, so the simulator starts, refuses and serves as it.

The simulator cannot read a checkpoint's config.json, so it knows the models evalclient's sweep names, as the
hub describes them (config.json `architectures`, tokenizer_config.json's chat template, the remote-code
tokenizer's imports); any other model id is served as TGI serves a model with its own kernels. For the known
ones it follows TGI 3.3.7 (huggingface/text-generation-inference @ v3.3.7):

- Qwen v1 (QWenLMHeadModel, model_type qwen): no TGI kernels and no transformers class, so only the remote
  code remains; its tokenizer imports tiktoken, which the image lacks, and the shard dies at start (without
  --trust-remote-code the remote code is not run at all). Its checkpoints have no chat template either: the
  chat route answers 422 "Template error: template not found" (router/src/infer/mod.rs).
- Qwen3 (Qwen3ForCausalLM): no Qwen3 branch in server/text_generation_server/models/__init__.py, so the
  transformers fallback (TransformersFlashCausalLM) serves it in float16 and applies neither fp8 weights nor
  an fp8 KV cache.
- Any flash model: `--max-batch-total-tokens` is ignored ("deprecated for Flash Attention models",
  backends/v3/src/lib.rs); the budget is inferred (here: the profile's).
- `--dtype` beside a quantization other than bitsandbytes stops the shard ("Only 1 can be set between `dtype`
  and `quantize`", server/text_generation_server/cli.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SimConfig


@dataclass(frozen=True)
class HubModel:
    """What TGI reads of a checkpoint before it loads it."""

    architecture: str
    model_type: str
    chat_template: bool = True
    tokenizer_imports: tuple[str, ...] = ()
    """Packages the checkpoint's remote-code tokenizer imports."""


_QWEN_V1 = HubModel("QWenLMHeadModel", "qwen", chat_template=False, tokenizer_imports=("tiktoken",))
_QWEN2 = HubModel("Qwen2ForCausalLM", "qwen2")
_QWEN3 = HubModel("Qwen3ForCausalLM", "qwen3")
KNOWN: dict[str, HubModel] = {
    "Qwen/Qwen-7B-Chat": _QWEN_V1,
    "Qwen/Qwen-14B-Chat": _QWEN_V1,
    "Qwen/Qwen2.5-7B-Instruct": _QWEN2,
    "Qwen/Qwen2.5-14B-Instruct": _QWEN2,
    "Qwen/Qwen3-8B": _QWEN3,
    "Qwen/Qwen3-14B": _QWEN3,
}
NATIVE = frozenset({"qwen2"})
"""The model types of the known models that TGI 3.3.7 serves with its own kernels."""
_BNB = frozenset({"bitsandbytes", "bitsandbytes-nf4", "bitsandbytes-fp4"})
TEMPLATE_NOT_FOUND = "Template error: template not found"


def hub_model(model_id: str) -> HubModel | None:
    return KNOWN.get(model_id)


def startup_failure(config: SimConfig) -> list[str] | None:
    """The lines TGI 3.3.7 prints before it exits without serving `config`'s model, None when it starts."""
    args = config.launcher_args
    if config.dtype is not None and config.quantize not in (None, *_BNB):
        return _shard_failed(
            "RuntimeError: Only 1 can be set between `dtype` and `quantize`, as they both decide how goes "
            "the final model."
        )
    model = hub_model(config.model_id)
    if model is None or model.model_type != "qwen":
        return None
    if not args.get("trust_remote_code"):
        return _shard_failed(f"ValueError: Unsupported model type {model.model_type}")
    missing = ", ".join(model.tokenizer_imports)
    return _shard_failed(
        "ImportError: This modeling file requires the following packages that were not found in your "
        f"environment: {missing}. Run `pip install {' '.join(model.tokenizer_imports)}`"
    )


def startup_notes(config: SimConfig) -> list[str]:
    """What TGI 3.3.7 logs (or, where it says nothing, what it silently does) about the flags it ignores."""
    notes: list[str] = []
    if config.launcher_args.get("max_batch_total_tokens") is not None:
        router = "WARN text_generation_router_v3:"
        notes += [
            f"{router} `--max-batch-total-tokens` is deprecated for Flash Attention models.",
            f"{router} Inferred max batch total tokens: {config.max_batch_total_tokens}",
        ]
    model = hub_model(config.model_id)
    if model is not None and model.model_type not in NATIVE:
        ignored = [
            flag
            for flag, value in (
                ("--quantize", config.quantize),
                ("--kv-cache-dtype", config.launcher_args.get("kv_cache_dtype")),
            )
            if value is not None and value not in _BNB
        ]
        dropped = f"; {' and '.join(ignored)} not applied" if ignored else ""
        notes.append(
            f"evalclient-sim: {model.architecture} has no TGI 3.3.7 kernels: served by the transformers "
            f"fallback (TransformersFlashCausalLM) in {config.dtype or 'float16'}{dropped}"
        )
    return notes


def has_chat_template(model_id: str) -> bool:
    model = hub_model(model_id)
    return model is None or model.chat_template


def _shard_failed(error: str) -> list[str]:
    return [
        "ERROR text_generation_launcher: Shard complete standard error output:",
        error,
        "ERROR text_generation_launcher: Shard 0 failed to start",
        "Error: ShardCannotStart",
    ]
