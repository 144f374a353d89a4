"""The suite's client, monitor and probe against a real inference engine: llama.cpp's llama-server on CPU.

The model is random (answers are nonsense); what is checked is what the real server does: its OpenAI chat API
streamed and not, usage, its real Qwen2 tokenizer and chat template, parallel slots, /metrics, /props, an
error for an over-long prompt, and a server killed mid-dataset.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.request
from typing import Any

import pytest

from evalclient.client import ChatRequest, ErrorKind, Sampling, ServerClient
from evalclient.deploy.endpoint import identify_engine
from evalclient.engines import get_adapter
from evalclient.engines.model import DeploymentModel
from evalclient.monitor.prometheus import parse_exposition
from evalclient.monitor.server_metrics import sample_from_exposition
from evalclient.tasks.probe import PROBE_PASSED, probe_loglikelihood

pytestmark = pytest.mark.engine
Server = tuple[str, subprocess.Popen[bytes]]


ADAPTER = get_adapter("llamacpp")


def _client(url: str, **kw: Any) -> ServerClient:
    return ServerClient(url, protocols=ADAPTER.protocols(), model="tiny", **kw)


def _chat(i: int, text: str = "Say hello.", tokens: int = 16, stream: bool = True) -> ChatRequest:
    return ChatRequest(
        str(i), ({"role": "user", "content": text},), Sampling(max_tokens=tokens), stream=stream
    )


def _text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def _get(url: str) -> Any:
    return json.loads(_text(url))


async def test_streamed_and_plain_chat_completions(llama_server: Server) -> None:
    url, _ = llama_server
    async with _client(url, concurrency=2) as client:
        records = await client.run([_chat(0), _chat(1, stream=False), _chat(2, "Count to three.")])
    for record in records:
        assert record.ok, record.error
        assert record.completion_tokens == 16  # random weights: it runs to max_tokens
        assert record.finish_reason == "length"
        assert record.prompt_tokens is not None
        assert record.prompt_tokens > 5
    assert records[0].ttft_ms is not None


async def test_props_and_metrics(llama_server: Server) -> None:
    url, _ = llama_server
    props = await asyncio.to_thread(_get, url + "/props")
    assert props["total_slots"] == 2
    assert "chat_template" in props
    async with _client(url) as client:
        await client.chat(_chat(0))
    exposition = parse_exposition(await asyncio.to_thread(_text, url + "/metrics"))
    names = {sample.name for sample in exposition.samples}
    assert "llamacpp:tokens_predicted_total" in names, sorted(names)
    assert exposition.values("llamacpp:tokens_predicted_total") == [16.0]
    sample = sample_from_exposition(1.0, exposition, ADAPTER.metric_names, None)  # the adapter's names
    assert sample.running_batch == 0.0


async def test_the_endpoint_is_identified_and_the_probe_refuses(llama_server: Server) -> None:
    url, _ = llama_server
    identified = await identify_engine(url)
    assert identified is not None
    assert identified.engine == "llamacpp"
    async with _client(url) as client:
        verdict = await probe_loglikelihood(DeploymentModel(client, ADAPTER, "none"))
    assert verdict != PROBE_PASSED
    assert "no prompt logprobs" in verdict


async def test_a_prompt_over_the_context_is_that_requests_error(llama_server: Server) -> None:
    url, _ = llama_server
    async with _client(url, max_retries=0) as client:
        too_long = await client.chat(_chat(0, "word " * 4000))
        fine = await client.chat(_chat(1))
    assert too_long.error is not None
    assert too_long.error.kind == ErrorKind.HTTP_4XX, too_long.error
    assert fine.ok, fine.error


async def test_a_server_killed_mid_dataset_fails_the_rest(llama_server: Server) -> None:
    url, proc = llama_server
    async with _client(url, max_retries=1, retry_wait_s=0.01, concurrency=1) as client:
        first = await client.chat(_chat(0))
        proc.kill()
        proc.wait(timeout=10)
        rest = await asyncio.gather(*(client.chat(_chat(i)) for i in range(1, 4)))
    assert first.ok, first.error
    assert [r.error.kind if r.error else None for r in rest] == [ErrorKind.CONNECTION] * 3


def test_a_small_sweep_against_the_real_engine_completes(llama_server: Server, tmp_path: Any) -> None:
    """2 presets x 4 datasets, 2 samples each, `run --endpoint` without --engine: identified as llama.cpp,
    every combination complete, multiple choice generative (the engine has no prompt logprobs)."""
    import os
    import sys

    from evalclient.sweep.demo import demo_data_dir

    url, _ = llama_server
    out = tmp_path / "results"
    command = [sys.executable, "-m", "evalclient", "run", "--endpoint", url, "--models", "qwen2.5_8b",
               "--presets", "balanced,performance", "--datasets", "gsm8k,arc_challenge,hellaswag,bfcl",
               "--samples", "2", "--data-dir", str(demo_data_dir()), "--output", str(out)]  # fmt: skip
    env = {**os.environ, "EVALCLIENT_SANDBOX": "subprocess"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "identified llamacpp (/props" in done.stderr
    records = [json.loads(p.read_text()) for p in sorted((out / "metrics" / "detailed").glob("*.json"))]
    assert len(records) == 8
    assert {(r["status"], r["engine"]) for r in records} == {("complete", "llamacpp")}
    modes = {r["dataset"]: r["dataset_metrics"].get("mode") for r in records}
    assert (modes["arc_challenge"], modes["hellaswag"]) == ("generative", "generative")
