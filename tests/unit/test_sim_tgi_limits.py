"""The simulator holds to TGI 3.3.7's limits and refusals, so the suite meets them before a GPU run does: the
stop-sequence cap (422 in TGI's shape unless launched with a higher one), Qwen v1 refused at start with the
shard's own error (and recorded failed by the runner with it), dtype beside fp8 refused, Qwen3 served by the
fallback with the flags it ignores said, --max-batch-total-tokens ignored, no chat template for Qwen v1, and
the ports TGI binds on the host network (its Prometheus listener, the shards' master port)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from evalclient.config import load_config
from evalclient.deploy.ports import PortLease
from evalclient.planning.plan import build_plan
from evalclient.sim import create_app
from evalclient.sim.cli import build_parser, config_from_args, main
from evalclient.sim.config import SimConfig
from evalclient.sim.rules import RuleSet
from evalclient.sim.tgi_models import startup_notes
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.runner import EvaluationRunner, RunOptions

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
FIVE_STOPS = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]  # humaneval_completion's, the Codex paper's


async def _post(serve_app: Any, config: SimConfig, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    import aiohttp

    url = await serve_app(create_app(config, RuleSet()))
    async with aiohttp.ClientSession() as session, session.post(url + path, json=body) as response:
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize("launched", [[], ["--max-stop-sequences", "5"]])
async def test_five_stop_sequences_get_tgis_422_unless_launched_for_them(
    serve_app: Any, launched: list[str]
) -> None:
    config = config_from_args(build_parser().parse_args(["--profile", "fast", *launched]))
    body = {"inputs": "def f():", "parameters": {"max_new_tokens": 8, "stop": FIVE_STOPS}}
    status, answer = await _post(serve_app, config, "/generate", body)
    if not launched:
        assert (status, answer) == (
            422,
            {
                "error": "Input validation error: `stop` supports up to 4 stop sequences. Given: 5",
                "error_type": "validation",
            },
        )
    else:
        assert status == 200


async def test_qwen_v1_has_no_chat_template_on_tgi(serve_app: Any) -> None:
    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    v1 = SimConfig.for_profile("fast", model_id="Qwen/Qwen-7B-Chat")
    assert await _post(serve_app, v1, "/v1/chat/completions", chat) == (
        422,
        {"error": "Template error: template not found", "error_type": "template_error"},
    )
    lenient = SimConfig.for_profile("fast", model_id="Qwen/Qwen-7B-Chat", engine_limits="none")
    assert (await _post(serve_app, lenient, "/v1/chat/completions", chat))[0] == 200


SHARD_FAILED = [
    "ERROR text_generation_launcher: Shard complete standard error output:",
    "ERROR text_generation_launcher: Shard 0 failed to start",
    "Error: ShardCannotStart",
]


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (
            ["--model-id", "Qwen/Qwen-7B-Chat", "--trust-remote-code"],
            "ImportError: This modeling file requires the following packages that were not found in your "
            "environment: tiktoken. Run `pip install tiktoken`",
        ),
        (["--model-id", "Qwen/Qwen-14B-Chat"], "ValueError: Unsupported model type qwen"),
        (
            ["--model-id", "Qwen/Qwen2.5-7B-Instruct", "--dtype", "bfloat16", "--quantize", "fp8"],
            "RuntimeError: Only 1 can be set between `dtype` and `quantize`, as they both decide how goes "
            "the final model.",
        ),
    ],
)
def test_what_tgi_cannot_start_ends_the_launcher_with_the_shards_error(
    flags: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*flags, "--profile", "fast"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [SHARD_FAILED[0], error, *SHARD_FAILED[1:]]


def test_qwen3_is_served_by_the_fallback_and_the_ignored_flags_are_said() -> None:
    args = ["--model-id", "Qwen/Qwen3-8B", "--quantize", "fp8", "--kv-cache-dtype", "fp8_e4m3fn"]
    args += ["--max-total-tokens", "4096", "--max-batch-total-tokens", "32768", "--profile", "demo"]
    config = config_from_args(build_parser().parse_args(args))
    assert config.max_batch_total_tokens == 131_072  # inferred (the profile's), not the 32,768 asked
    assert startup_notes(config) == [
        "WARN text_generation_router_v3: `--max-batch-total-tokens` is deprecated for Flash Attention "
        "models.",
        "WARN text_generation_router_v3: Inferred max batch total tokens: 131072",
        "evalclient-sim: Qwen3ForCausalLM has no TGI 3.3.7 kernels: served by the transformers fallback "
        "(TransformersFlashCausalLM) in float16; --quantize and --kv-cache-dtype not applied",
    ]
    native = config_from_args(build_parser().parse_args(["--model-id", "Qwen/Qwen2.5-7B-Instruct"]))
    assert startup_notes(native) == []


async def test_the_runner_records_a_deployment_tgi_cannot_start_as_failed_with_tgis_error(
    tmp_path: Path,
) -> None:
    """Qwen v1 on an unpinned TGI image (here the simulator's local process): the table only expects the
    refusal, so it is tried; the engine's own error is what the run records."""
    plan = build_plan(
        CONFIG, models=["qwen_8b"], presets=["balanced"], datasets=["gsm8k"], samples=3, engine="tgi",
        image="evalclient-sim:local", auto_route=False,
    )  # fmt: skip
    [deployment] = plan.deployments
    assert (deployment.serving.assumed, deployment.serving.starts) == (True, True)
    options = RunOptions(output=tmp_path, data_dir=demo_data_dir(), local_simulator=True, ready_timeout_s=60)
    summary = await EvaluationRunner(CONFIG, plan, options).run()
    [outcome] = summary.outcomes
    assert outcome.status == "failed"
    error = outcome.error or ""
    assert "exited with exit code 1" in error
    assert (
        "ImportError: This modeling file requires the following packages that were not found in your "
        in error
    )
    assert "Error: ShardCannotStart; it never became ready" in error
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["combinations"]["qwen_8b/balanced/gsm8k"]["error"] == error
    [entry] = manifest["plan"]
    assert (entry["engine"], entry["serving_path"], entry["capabilities_assumed"]) == (
        "tgi",
        "unsupported",
        True,
    )


async def test_a_pinned_image_that_cannot_start_the_model_is_never_started(tmp_path: Path) -> None:
    plan = build_plan(
        CONFIG, models=["qwen_8b"], presets=["balanced"], datasets=["gsm8k"], samples=3, engine="tgi",
        image=None, auto_route=False,
    )  # fmt: skip

    class NoStarts:
        engine = None

        def prepare(self) -> None:
            return None

        def image_id(self, image: str) -> str | None:
            return None

        def deploy(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a refused deployment was started")

    options = RunOptions(output=tmp_path, data_dir=demo_data_dir())
    runner = EvaluationRunner(CONFIG, plan, options, provider=NoStarts())  # type: ignore[arg-type]
    runner.prepare()
    summary = await runner.run()
    [outcome] = summary.outcomes
    assert outcome.status == "failed"
    assert (outcome.error or "").startswith(
        "qwen_8b_balanced: tgi 3.3.7 cannot start Qwen/Qwen-7B-Chat (QWenLMHeadModel): "
    )
    assert (outcome.error or "").endswith("; nothing was started")


def _start(started: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "evalclient.sim", "--profile", "fast", "--rules", "", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started.append(proc)
    return proc


def _metrics(port: int) -> str:
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "no Prometheus listener"
            time.sleep(0.05)


def test_two_servers_on_one_prometheus_port_collide_as_tgi_does(
    launch: list[subprocess.Popen[str]],
) -> None:
    with PortLease(count=3) as lease:
        http, metrics, other = lease.ports
        _start(launch, "--port", str(http), "--prometheus-port", str(metrics))
        assert "tgi_request_count" in _metrics(metrics)  # TGI serves /metrics on its Prometheus port too
        second = _start(launch, "--port", str(other), "--prometheus-port", str(metrics))
        assert second.wait(timeout=15) == 1
        assert second.stderr is not None
        err = second.stderr.read()
    assert "thread 'main' panicked at router/src/server.rs: failed to build prometheus recorder" in err


def test_two_sharded_servers_on_one_master_port_collide_as_tgi_does(
    launch: list[subprocess.Popen[str]],
) -> None:
    with PortLease(count=5) as lease:
        http, metrics, master, http2, metrics2 = lease.ports
        _start(launch, "--port", str(http), "--prometheus-port", str(metrics), "--num-shard", "2",
               "--master-port", str(master))  # fmt: skip
        _metrics(metrics)
        second = _start(launch, "--port", str(http2), "--prometheus-port", str(metrics2),
                        "--num-shard", "2", "--master-port", str(master))  # fmt: skip
        assert second.wait(timeout=15) == 1
        assert second.stderr is not None
        lines = second.stderr.read().strip().splitlines()
    assert lines[0] == SHARD_FAILED[0]
    assert lines[1].startswith(
        f"torch.distributed.DistStoreError: The server socket has failed to listen on any local network "
        f"address. port: {master}, useIpv6: 0"
    )
    assert lines[2:] == SHARD_FAILED[1:]
