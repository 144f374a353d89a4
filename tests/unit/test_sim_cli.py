"""The simulator's command line: TGI's launcher flags, usage errors, and the process (start, delay, crash)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sim_process import start_sim, wait_ready

from evalclient.sim.cli import build_parser, config_from_args, load_rules_arg, main, start_line
from evalclient.sim.config import SimConfig, SimConfigError

TGI_FLAGS = [
    "--model-id", "Qwen/Qwen2.5-7B-Instruct", "--revision", "main", "--hostname", "127.0.0.1",
    "--port", "18080", "--dtype", "bfloat16", "--quantize", "fp8", "--kv-cache-dtype", "fp8_e4m3fn",
    "--max-concurrent-requests", "64", "--max-input-tokens", "2048", "--max-total-tokens", "4096",
    "--max-batch-prefill-tokens", "4096", "--max-batch-total-tokens", "16000", "--max-batch-size", "12",
    "--cuda-memory-fraction", "0.9", "--cuda-graphs", "1,2,4,8", "--trust-remote-code",
    "--usage-stats", "off", "--sharded", "false", "--num-shard", "1",
]  # fmt: skip


def test_parser_takes_tgi_launcher_flags() -> None:
    config = config_from_args(build_parser().parse_args(TGI_FLAGS))
    assert config.model_id == "Qwen/Qwen2.5-7B-Instruct"
    assert (config.hostname, config.port) == ("127.0.0.1", 18080)
    assert config.max_concurrent_requests == 64
    assert (config.max_input_tokens, config.max_total_tokens) == (2048, 4096)
    assert config.max_batch_prefill_tokens == 4096
    # TGI's v3 router ignores --max-batch-total-tokens for flash models and infers its budget (the profile's)
    assert config.max_batch_total_tokens == 131_072
    assert config.launcher_args["max_batch_total_tokens"] == 16000
    lenient = config_from_args(build_parser().parse_args([*TGI_FLAGS, "--engine-limits", "none"]))
    assert lenient.max_batch_total_tokens == 16000
    assert config.slots == 12
    assert config.dtype == "bfloat16"
    assert config.launcher_args["cuda_graphs"] == "1,2,4,8"
    assert config.launcher_args["trust_remote_code"] is True
    assert config.launcher_args["kv_cache_dtype"] == "fp8_e4m3fn"
    assert config.launcher_args["usage_stats"] == "off"


def test_defaults_follow_tgi_and_the_profile() -> None:
    config = config_from_args(build_parser().parse_args([]))
    assert (config.hostname, config.port, config.max_concurrent_requests) == ("127.0.0.1", 8080, 128)
    assert (config.max_input_tokens, config.max_total_tokens, config.max_batch_prefill_tokens) == (
        4095,
        4096,
        4145,
    )
    assert config.profile == "demo"
    h100 = config_from_args(build_parser().parse_args(["--profile", "h100-8b", "--decode-step-ms", "25"]))
    assert h100.slots == 64
    assert h100.decode_step_ms == 25.0
    assert h100.max_tokens_per_second == pytest.approx(64 * 1000 / 25)


@pytest.mark.parametrize(
    "argv",
    [["--no-such-flag"], ["--max-total"], ["--dtype", "float64"], ["--profile", "warp"], ["--port", "x"]],
)
def test_unknown_or_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_contradictory_limits_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--max-input-tokens", "4096", "--max-total-tokens", "4096"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "evalclient-sim: error: `max_input_tokens`(4096) must be < `max_total_tokens`(4096)"
    assert main(["--max-batch-total-tokens", "1000"]) == 2
    assert "`max_total_tokens` must be <= `max_batch_total_tokens`" in capsys.readouterr().err


def test_bad_rules_file_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - match: '('\n    response: x\n")
    assert main(["--rules", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(bad) in err
    assert "invalid regex" in err


def test_config_checks_its_limits() -> None:
    with pytest.raises(SimConfigError, match="max_batch_prefill_tokens"):
        SimConfig.for_profile("fast", max_input_tokens=1000, max_batch_prefill_tokens=500)
    with pytest.raises(SimConfigError, match="unknown profile"):
        SimConfig.for_profile("nope")


def test_start_line_states_the_model_slots_steps_and_throughput() -> None:
    config = SimConfig.for_profile("demo", model_id="m/x")
    line = start_line(config, load_rules_arg(""))
    assert "\n" not in line
    for part in ("m/x", "16 slots", "decode step 10 ms", "prefill 0.02 ms/token", "1600 tokens/s"):
        assert part in line


def get(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return int(resp.status)


def post(port: int, path: str, body: dict[str, object]) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return int(resp.status)


def test_process_prints_its_line_serves_and_stops_on_sigterm(launch: list[subprocess.Popen[str]]) -> None:
    proc, port, line = start_sim(launch, "--model-id", "Qwen/Qwen3-8B")
    assert "Qwen/Qwen3-8B" in line
    assert "8000 tokens/s" in line
    wait_ready(port, proc)
    assert post(port, "/generate", {"inputs": "hi", "parameters": {"max_new_tokens": 5}}) == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_startup_delay_holds_the_port_back(launch: list[subprocess.Popen[str]]) -> None:
    proc, port, line = start_sim(launch, "--startup-delay", "2")
    assert "startup delay" in line
    time.sleep(0.5)
    with pytest.raises(urllib.error.URLError):
        get(port, "/health")
    wait_ready(port, proc)


def test_crash_after_n_requests_exits_1(launch: list[subprocess.Popen[str]]) -> None:
    proc, port, _ = start_sim(launch, "--crash-after", "2")
    wait_ready(port, proc)
    assert post(port, "/generate", {"inputs": "one"}) == 200
    assert proc.poll() is None
    assert post(port, "/generate", {"inputs": "two"}) == 200
    assert proc.wait(timeout=10) == 1
    assert proc.stderr is not None
    lines = [line for line in proc.stderr.read().splitlines() if line.strip()]
    assert lines[-1] == "evalclient-sim: simulated crash after 2 generation requests"  # nothing after it
