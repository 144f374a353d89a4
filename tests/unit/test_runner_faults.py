"""A server that dies under the runner: noticed in seconds, its combinations failed with the reason, the
answers it gave kept in the checkpoint. Simulator processes stand in for an endpoint and a local
deployment."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from evalclient.config import load_config
from evalclient.deploy.ports import PortLease
from evalclient.planning.plan import build_plan
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.runner import EvaluationRunner, RunOptions

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
PLAN = build_plan(
    CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=["gsm8k", "arc_challenge"], samples=12,
    engine="tgi", image=None,
)  # fmt: skip
SLOW = ["--decode-step-ms", "40", "--model-id", "Qwen/Qwen2.5-7B-Instruct", "--prometheus-port", "0"]


def _checkpointed(out: Path) -> int:
    path = out / "cache/checkpoints/qwen2.5_8b_balanced_gsm8k.jsonl"
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


async def _until(condition: object, within_s: float = 30) -> None:
    deadline = time.monotonic() + within_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def test_an_endpoint_that_dies_is_noticed_within_seconds(tmp_path: Path) -> None:
    with PortLease() as lease:
        args = [sys.executable, "-m", "evalclient.sim", "--port", str(lease.port), *SLOW]
        server = subprocess.Popen(args)  # noqa: ASYNC220 (starting it is instant; the test awaits its health)
        try:
            await _until(lambda: _serving(lease.port))
            options = RunOptions(
                output=tmp_path,
                endpoint=f"http://127.0.0.1:{lease.port}",
                data_dir=demo_data_dir(),
                concurrency=2,
            )
            run = asyncio.create_task(EvaluationRunner(CONFIG, PLAN, options).run())
            await _until(lambda: _checkpointed(tmp_path) >= 2)
            server.kill()
            died = time.monotonic()
            summary = await asyncio.wait_for(run, timeout=60)
            noticed = time.monotonic() - died
        finally:
            server.kill()
            server.wait()
    assert noticed < 15
    assert [(o.dataset, o.status) for o in summary.outcomes] == [
        ("gsm8k", "failed"),
        ("arc_challenge", "failed"),
    ]
    reason = summary.outcomes[0].error or ""
    assert re.fullmatch(
        r"the deployment was lost: the server stopped answering: \d+ requests in a row could not connect or "
        rf"timed out, and {options.endpoint}/health failed 3 health checks 2 s apart",
        reason,
    ), reason
    assert _checkpointed(tmp_path) >= 2  # what was answered before the death is kept
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["combinations"]["qwen2.5_8b/balanced/arc_challenge"]["error"] == reason


async def test_a_local_simulator_that_dies_is_lost_with_its_exit_code(tmp_path: Path) -> None:
    options = RunOptions(output=tmp_path, data_dir=demo_data_dir(), local_simulator=True, concurrency=2)
    runner = EvaluationRunner(CONFIG, PLAN, options)
    run = asyncio.create_task(runner.run())
    await _until(lambda: _checkpointed(tmp_path) >= 2)
    [process] = [entry.proc for entry in runner.provider.engine._procs.values()]  # type: ignore[attr-defined]
    process.kill()
    summary = await asyncio.wait_for(run, timeout=30)
    assert [o.status for o in summary.outcomes] == ["failed", "failed"]
    assert "exited with exit code -9" in (summary.outcomes[0].error or "")
