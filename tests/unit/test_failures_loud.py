"""Interrupts and refusals said as they are: a second Ctrl-C is one line (exit 130, no traceback), an output
folder that cannot be created is a usage error (exit 2), and a prompt over the server's size limit (HTTP 413,
as TGI 3.3.7's --payload-limit refuses it) is never advised to be rerun."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim_process import start_sim, wait_ready

from evalclient.client import ChatRequest, ErrorKind, Sampling, ServerClient
from evalclient.client.completion import Completion, RequestError
from evalclient.client.requests import RequestKind
from evalclient.engines import get_adapter
from evalclient.sim.rules import RuleSet
from evalclient.sweep.combination import outcome
from evalclient.sweep.demo import demo_data_dir
from evalclient.tasks.base import SampleOutput


def _run(sim: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "evalclient", "run", "--endpoint", sim, "--models", "qwen2.5_8b",
            "--presets", "balanced", "--datasets", "gsm8k", "--samples", "12", "--output", str(out),
            "--data-dir", str(demo_data_dir()), "--no-resume"]  # fmt: skip


def test_a_second_ctrl_c_is_one_line(launch: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    proc, port, _ = start_sim(launch, "--model-id", "Qwen/Qwen2.5-7B-Instruct", "--decode-step-ms", "100")
    wait_ready(port, proc)
    run = subprocess.Popen(_run(f"http://127.0.0.1:{port}", tmp_path / "out"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert run.stderr is not None
    seen: list[str] = []
    while not seen or "requests" not in seen[-1]:  # asking the server now
        seen.append(run.stderr.readline())
        assert seen[-1] or run.poll() is None, "".join(seen) + run.stderr.read()
    run.send_signal(signal.SIGINT)
    time.sleep(0.01)
    run.send_signal(signal.SIGINT)
    _, rest = run.communicate(timeout=60)
    assert run.returncode == 130, rest
    assert "Traceback" not in rest, rest[-4000:]
    assert "KeyboardInterrupt" not in rest
    assert "interrupted: containers were removed and every answer so far is checkpointed" in rest


def test_an_output_folder_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = subprocess.run(_run("http://127.0.0.1:9", blocker / "out"), capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: cannot create the results tree in {blocker / 'out'}: Not a directory; pass --output with a "
        "writable folder"
    )


async def test_a_prompt_over_the_payload_limit_is_413(start_sim: Callable[..., Any]) -> None:
    url = await start_sim(RuleSet(), model_id="Qwen/Qwen2.5-7B-Instruct", payload_limit=2000)
    async with ServerClient(url, protocols=get_adapter("tgi").protocols(), retry_wait_s=0.01) as client:
        big = await client.chat(
            ChatRequest("0", ({"role": "user", "content": "x " * 2000},), Sampling(max_tokens=4))
        )
        small = await client.chat(
            ChatRequest("1", ({"role": "user", "content": "hi"},), Sampling(max_tokens=4))
        )
    assert big.error is not None
    assert (big.error.kind, big.error.status, big.retries) == (ErrorKind.HTTP_4XX, 413, 0)
    assert small.ok, small.error


def _failed(sample_id: str, kind: ErrorKind, status: int | None = None) -> SampleOutput:
    error = RequestError(kind, f"{kind} error", status)
    return SampleOutput(sample_id, [Completion(sample_id, RequestKind.CHAT, error=error)])


def test_a_rerun_is_advised_only_where_it_can_help() -> None:
    ok = SampleOutput("ok", [Completion("ok", RequestKind.CHAT, text="4")])
    too_big = _failed("big", ErrorKind.HTTP_4XX, 413)
    dropped = _failed("drop", ErrorKind.CONNECTION)
    status, reason = outcome([ok, too_big], [too_big])
    assert (status, reason) == (
        "partial",
        "1 of 2 samples failed (scored as wrong; the server refuses them as sent, so a rerun fails them "
        "again); the first: http_4xx: http_4xx error",
    )
    _, mixed = outcome([ok, too_big, dropped], [too_big, dropped])
    assert mixed is not None
    assert mixed.startswith(
        "2 of 3 samples failed (scored as wrong; rerun to retry the 1 a rerun can answer)"
    )
    _, retry = outcome([ok, dropped], [dropped])
    assert retry is not None
    assert retry.startswith("1 of 2 samples failed (scored as wrong; rerun to retry them)")
