"""Command line of the simulator: TGI's launcher flags (same names) plus the simulator's own.

`python3 -m evalclient.sim --model-id Qwen/Qwen2.5-7B-Instruct --port 8080 --profile demo`
Unknown flags are an error (exit 2), like TGI's launcher; so are contradictory limits and a bad rules file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from .. import __version__
from .config import DEFAULT_MODEL_ID, TGI_LIMITS, SimConfig, SimConfigError
from .profiles import DEFAULT_PROFILE, PROFILES
from .rules import RulesError, RuleSet, load_rules
from .serve import serve
from .tgi_models import startup_failure, startup_notes

DEFAULT_RULES = Path(__file__).resolve().parent / "data" / "demo_rules.yaml"
QUANTIZE = (
    "awq",
    "compressed-tensors",
    "eetq",
    "exl2",
    "gptq",
    "marlin",
    "bitsandbytes",
    "bitsandbytes-nf4",
    "bitsandbytes-fp4",
    "fp8",
)
# launcher flags that only change what the simulator reports, (name, type or None for a switch)
_RECORDED: tuple[tuple[str, Any], ...] = (
    ("--cuda-memory-fraction", float),
    ("--cuda-graphs", str),
    ("--sharded", str),
    ("--num-shard", int),
    ("--speculate", int),
    ("--max-waiting-tokens", int),
    ("--waiting-served-ratio", float),
    ("--prometheus-port", int),
    ("--huggingface-hub-cache", str),
    ("--weights-cache-override", str),
    ("--rope-factor", float),
    ("--otlp-endpoint", str),
    ("--otlp-service-name", str),
    ("--tokenizer-config-path", str),
    ("--lora-adapters", str),
    ("--payload-limit", int),
    ("--graceful-termination-timeout", int),
    ("--shard-uds-path", str),
    ("--master-addr", str),
    ("--master-port", int),
    ("--trust-remote-code", None),
    ("--disable-custom-kernels", None),
    ("--json-output", None),
    ("--disable-grammar-support", None),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (abbreviations off, as in TGI's launcher)."""
    parser = argparse.ArgumentParser(
        prog="evalclient-sim",
        description="A TGI simulator: TGI's API, continuous batching on a latency model, scripted answers.",
        allow_abbrev=False,
    )
    _add_model_flags(parser)
    _add_limit_flags(parser)
    _add_recorded_flags(parser)
    _add_sim_flags(parser)
    return parser


def _add_model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-id", default=DEFAULT_MODEL_ID)
    parser.add_argument("--revision")
    parser.add_argument("--hostname", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8080)
    parser.add_argument("--dtype", choices=("float16", "bfloat16"))
    parser.add_argument("--quantize", choices=QUANTIZE)
    parser.add_argument("--kv-cache-dtype", choices=("fp8_e4m3fn", "fp8_e5m2"))
    parser.add_argument("--usage-stats", choices=("on", "off", "no-stack"))
    parser.add_argument("--rope-scaling", choices=("linear", "dynamic"))
    parser.add_argument(
        "--enable-prefill-logprobs",
        action="store_true",
        help="return prefill logprobs (decoder_input_details)",
    )


def _add_limit_flags(parser: argparse.ArgumentParser) -> None:
    for flag in (
        "--max-concurrent-requests",
        "--max-best-of",
        "--max-stop-sequences",
        "--max-top-n-tokens",
        "--validation-workers",
        "--max-client-batch-size",
        "--max-input-tokens",
        "--max-total-tokens",
        "--max-batch-prefill-tokens",
        "--max-batch-total-tokens",
        "--max-batch-size",
    ):
        parser.add_argument(flag, type=int)
    parser.add_argument("--max-input-length", type=int, help="legacy name of --max-input-tokens")


def _add_recorded_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("accepted and reported in /info, no effect on the simulation")
    for flag, kind in _RECORDED:
        if kind is None:
            group.add_argument(flag, action="store_true", default=None)
        else:
            group.add_argument(flag, type=kind)


def _add_sim_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("simulator")
    group.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(PROFILES))
    group.add_argument("--decode-step-ms", type=float, help="override the profile's decode step time")
    group.add_argument("--prefill-ms-per-token", type=float, help="override the profile's prefill cost")
    group.add_argument("--rules", help=f"rules YAML (default: {DEFAULT_RULES.name} if packaged; '' for none)")
    group.add_argument("--startup-delay", type=float, default=0.0, metavar="SECONDS")
    group.add_argument("--fault-503-first", type=int, default=0, metavar="N")
    group.add_argument("--fault-stream-error-every", type=int, default=0, metavar="N")
    group.add_argument("--crash-after", type=int, default=0, metavar="N")
    group.add_argument(
        "--fault-oom-after", type=int, default=0, metavar="N", help="use memory until killed after N answers"
    )
    group.add_argument("--log-requests", action="store_true", help="print each request's text to stdout")
    group.add_argument(
        "--fault-no-prefill-logprobs",
        action="store_true",
        help="never return prefill logprobs (an engine without)",
    )
    group.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process does")
    group.add_argument(
        "--engine-limits",
        choices=(TGI_LIMITS, "none"),
        default=TGI_LIMITS,
        help="enforce TGI 3.3.7's refusals and limits (default), or none (a lenient OpenAI-style server)",
    )
    group.add_argument("--version", action="version", version=f"evalclient-sim {__version__}")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """A SimConfig from parsed flags (raises SimConfigError on contradictions)."""
    overrides: dict[str, Any] = {
        "model_id": args.model_id,
        "revision": args.revision,
        "hostname": args.hostname,
        "port": args.port,
        "dtype": args.dtype,
        "quantize": args.quantize,
        "startup_delay": args.startup_delay,
        "fault_503_first": args.fault_503_first,
        "fault_stream_error_every": args.fault_stream_error_every,
        "crash_after": args.crash_after,
        "prefill_logprobs": args.enable_prefill_logprobs,
        "fault_oom_after": args.fault_oom_after,
        "log_requests": args.log_requests,
        "no_prefill_logprobs": args.fault_no_prefill_logprobs,
        "exit_with_parent": args.exit_with_parent,
        "launcher_args": _launcher_args(args),
        "engine_limits": args.engine_limits,
        "payload_limit": args.payload_limit,
    }
    for name in (
        "max_concurrent_requests",
        "max_best_of",
        "max_stop_sequences",
        "max_top_n_tokens",
        "validation_workers",
        "max_client_batch_size",
        "max_total_tokens",
        "max_batch_prefill_tokens",
        "decode_step_ms",
        "prefill_ms_per_token",
    ):
        overrides[name] = getattr(args, name)
    overrides["max_input_tokens"] = args.max_input_tokens or args.max_input_length
    overrides["slots"] = args.max_batch_size
    if args.max_batch_total_tokens is not None:
        _batch_total_tokens(args, overrides)
    for name in (
        "startup_delay",
        "fault_503_first",
        "fault_stream_error_every",
        "crash_after",
        "fault_oom_after",
    ):
        if overrides[name] < 0:
            raise SimConfigError(f"--{name.replace('_', '-')} must be >= 0")
    config = SimConfig.for_profile(args.profile, **{k: v for k, v in overrides.items() if v is not None})
    given = config.launcher_args.get("max_batch_total_tokens")
    if given is not None and config.max_total_tokens > given:  # the launcher's own check, as TGI's
        raise SimConfigError(
            f"`max_total_tokens` must be <= `max_batch_total_tokens`. Given: {config.max_total_tokens} and "
            f"{given}"
        )
    return config


def _batch_total_tokens(args: argparse.Namespace, overrides: dict[str, Any]) -> None:
    """TGI's launcher checks `--max-batch-total-tokens` against `--max-total-tokens`, then its v3 router
    ignores it for flash-attention models and infers the budget (here: the profile's); the lenient simulator
    takes it as its budget."""
    if args.engine_limits == "none":
        overrides["max_batch_total_tokens"] = args.max_batch_total_tokens
    else:
        overrides["launcher_args"]["max_batch_total_tokens"] = args.max_batch_total_tokens


def _launcher_args(args: argparse.Namespace) -> dict[str, Any]:
    names = ["kv_cache_dtype", "usage_stats", "rope_scaling", "max_batch_size"]
    names += [flag[2:].replace("-", "_") for flag, _ in _RECORDED]
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def load_rules_arg(value: str | None) -> RuleSet:
    """The rules of `--rules`: a file, '' for none, or the packaged demo rules when present."""
    if value == "":
        return RuleSet()
    if value is None:
        return load_rules(DEFAULT_RULES) if DEFAULT_RULES.is_file() else RuleSet()
    return load_rules(value)


def start_line(config: SimConfig, rules: RuleSet) -> str:
    """The one line printed at start."""
    delay = f" after a {config.startup_delay:g} s startup delay" if config.startup_delay else ""
    return (
        f"evalclient-sim {__version__}: model {config.model_id}, profile {config.profile}, "
        f"{config.slots} slots, decode step {config.decode_step_ms:g} ms, "
        f"prefill {config.prefill_ms_per_token:g} ms/token, "
        f"max throughput {config.max_tokens_per_second:.0f} tokens/s, "
        f"batch budget {config.max_batch_total_tokens} tokens, "
        f"rules {rules.source or 'none'} ({len(rules.rules)}), "
        f"listening on http://{config.hostname}:{config.port}{delay}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGTERM/SIGINT (0), a simulated crash (1) or a usage error (2)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        config = config_from_args(args)
        rules = load_rules_arg(args.rules)
    except (SimConfigError, RulesError) as exc:
        print(f"evalclient-sim: error: {exc}", file=sys.stderr)
        return 2
    print(start_line(config, rules), flush=True)
    failure = startup_failure(config) if config.tgi else None
    if failure is not None:  # as TGI's launcher: the shard's error, then exit 1
        print("\n".join(failure), file=sys.stderr, flush=True)
        return 1
    for note in startup_notes(config) if config.tgi else ():
        print(note, flush=True)
    # TGI's router logs the KV-cache budget it settled on in these words; evalclient reads it back.
    print(f"Setting max batch total tokens to {config.max_batch_total_tokens}", flush=True)
    return asyncio.run(serve(config, rules))
