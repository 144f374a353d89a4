"""`run --endpoint` without `--engine`: the engine is read from what the server answers (llama.cpp `/props`,
SGLang `/server_info`, TGI `/info`, vLLM `/v1/models` and `/version`), said in one line, and used for the
plan, the protocols and the records; a server no rule names keeps the sweep's engine, said too."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from llamacpp_standin import LlamaServer, answer

from evalclient.cli.request import RunRequest, engine_for_endpoint
from evalclient.cli.selection import Selection, plan_for
from evalclient.config import load_config
from evalclient.deploy.endpoint import Identified, engine_of, identify_engine
from evalclient.sim.rules import RuleSet
from evalclient.sweep.demo import demo_data_dir

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
SELECT = Selection(models="qwen2.5_8b", presets="balanced", datasets="gsm8k", samples=2)
SGLANG_INFO = {
    "model_path": "Qwen/Qwen2.5-7B-Instruct",
    "tp_size": 1,
    "max_running_requests": 128,
    "max_total_num_tokens": 400000,
    "internal_states": [{"effective_max_running_requests_per_dp": 128}],
    "version": "0.5.19",
}
VLLM_MODELS = {
    "object": "list",
    "data": [
        {"id": "Qwen/Qwen2.5-7B-Instruct", "object": "model", "created": 0, "owned_by": "vllm",
         "root": "Qwen/Qwen2.5-7B-Instruct", "parent": None, "max_model_len": 8192, "permission": []},
    ],
}  # fmt: skip


def _app(routes: dict[str, Any]) -> web.Application:
    app = web.Application()
    for path, body in routes.items():
        app.router.add_get(path, answer(body))
    return app


async def test_llama_cpp_is_identified_by_its_props(serve_app: Any) -> None:
    url = await serve_app(LlamaServer().app())
    assert await identify_engine(url) == Identified(
        "llamacpp", "/props: default_generation_settings, total_slots 4, build_info b11312-0c1e57098"
    )


@pytest.mark.parametrize("path", ["/server_info", "/get_server_info"])
async def test_sglang_is_identified_by_its_server_info(serve_app: Any, path: str) -> None:
    url = await serve_app(_app({path: SGLANG_INFO, "/v1/models": {"object": "list", "data": []}}))
    found = await identify_engine(url)
    assert found == Identified("sglang", f"{path}: model_path, internal_states, version 0.5.19")


async def test_tgi_is_identified_by_its_info(start_sim: Any) -> None:
    url = await start_sim(RuleSet(), model_id="Qwen/Qwen2.5-7B-Instruct")  # the simulator's /info is TGI's
    found = await identify_engine(url)
    assert found is not None
    assert found.engine == "tgi"
    assert found.evidence.startswith("/info: model_id, router text-generation-router, version ")


async def test_vllm_is_identified_by_its_model_cards_or_its_version(serve_app: Any) -> None:
    both = await serve_app(_app({"/v1/models": VLLM_MODELS, "/version": {"version": "0.33.0"}}))
    assert await identify_engine(both) == Identified("vllm", '/v1/models: owned_by "vllm"')
    version = await serve_app(_app({"/version": {"version": "0.33.0"}}))
    assert await identify_engine(version) == Identified("vllm", "/version: only a version (0.33.0)")


async def test_a_server_no_rule_names_is_not_identified(serve_app: Any) -> None:
    other = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "organization-owner"}]}
    url = await serve_app(_app({"/v1/models": other, "/version": {"version": "1", "name": "x"}}))
    assert await identify_engine(url) is None
    assert await identify_engine("http://127.0.0.1:9") is None
    assert engine_of({"/info": {"model_id": "m"}, "/props": {"total_slots": 1}}) is None


async def test_an_unnamed_endpoint_is_planned_as_the_identified_engine(serve_app: Any) -> None:
    url = await serve_app(LlamaServer().app())
    request, line = await asyncio.to_thread(engine_for_endpoint, CONFIG, RunRequest(SELECT, endpoint=url))
    assert request.selection.engine == "llamacpp"
    assert line == (
        f"endpoint {url}: identified llamacpp (/props: default_generation_settings, total_slots 4, "
        "build_info b11312-0c1e57098)"
    )
    plan = plan_for(CONFIG, request.selection, endpoint=url)
    assert plan.engine == "llamacpp"
    assert plan.deployments[0].serving.record()["engine"] == "llamacpp"
    assert plan.deployments[0].job("gsm8k").spec.mode is None


def test_an_unidentified_endpoint_keeps_the_sweep_engine_and_says_so() -> None:
    url = "http://127.0.0.1:9"
    request, line = engine_for_endpoint(CONFIG, RunRequest(SELECT, endpoint=url))
    assert request.selection.engine is None
    assert line == (
        f"endpoint {url}: no engine identified from /props, /server_info, /get_server_info, /info, "
        "/v1/models, /version; spoken to as tgi (the sweep's engine; --engine chooses another)"
    )
    assert plan_for(CONFIG, request.selection, endpoint=url).engine == "tgi"


def test_an_engine_given_is_not_probed() -> None:
    chosen = RunRequest(Selection(engine="vllm"), endpoint="http://127.0.0.1:9")
    assert engine_for_endpoint(CONFIG, chosen) == (chosen, None)
    assert engine_for_endpoint(CONFIG, RunRequest(SELECT)) == (RunRequest(SELECT), None)


async def test_a_run_against_llama_cpp_records_the_engine(serve_app: Any, tmp_path: Path) -> None:
    url = await serve_app(LlamaServer().app())
    out = tmp_path / "out"
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "evalclient", "run", "--endpoint", url, "--models", "qwen2.5_8b"),
        *("--presets", "balanced", "--datasets", "gsm8k", "--samples", "2", "--quiet"),
        *("--data-dir", str(demo_data_dir()), "--output", str(out)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=240)
    text = stderr.decode()
    assert f"endpoint {url}: identified llamacpp (/props: " in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "llamacpp", manifest
    record = json.loads(next((out / "metrics" / "detailed").glob("*gsm8k*.json")).read_text())
    assert record["provenance"]["serving"]["engine"] == "llamacpp"
