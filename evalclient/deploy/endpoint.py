"""A server that is already running (`--endpoint`): checked once before use, watched through the client.

Nothing is started or removed. While it serves, the client's health gate watches it: a run of failed
connections triggers health checks, and a server that fails them is marked lost. Which engine it is can be
read from its own info endpoints (`identify_engine`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from evalclient.deploy.deployment import Deployment, SpecFor, Stage
from evalclient.errors import EngineError
from evalclient.planning.plan import DeploymentPlan
from evalclient.planning.slots import Slot


class EndpointProvider:
    """Every deployment is the one server at `url`."""

    def __init__(
        self, url: str, health_path: str = "/health", info_paths: tuple[str, ...] = ("/info", "/v1/models")
    ) -> None:
        self.url = url.rstrip("/")
        self.health_path = health_path
        self.info_paths = info_paths

    def prepare(self) -> None:
        return None

    def image_id(self, image: str) -> str | None:
        return None

    @asynccontextmanager
    async def deploy(
        self,
        plan: DeploymentPlan,
        spec_for: SpecFor,
        *,
        run_id: str,
        log_path: Path,
        slot: Slot | None = None,
        stage: Stage | None = None,
    ) -> AsyncIterator[Deployment]:
        if not await answers(self.url + self.health_path):
            raise EngineError(
                f"the endpoint {self.url} does not answer {self.health_path}",
                "check that the server runs and the URL is right",
            )
        yield Deployment(self.url, info=await fetch_info(self.url, self.info_paths))


async def answers(url: str) -> bool:
    """Whether GET `url` answers 200 within 10 s."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(url) as response,
        ):
            return response.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def fetch_info(base_url: str, paths: tuple[str, ...] = ("/info", "/v1/models")) -> dict[str, Any]:
    """The server's self-description from the first of its engine's info endpoints that answers (TGI /info,
    SGLang /server_info then the deprecated /get_server_info, vLLM /v1/models); {} if none does."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for path in paths:
            try:
                async with session.get(base_url + path) as response:
                    if response.status == 200:
                        data = await response.json(content_type=None)
                        return data if isinstance(data, dict) else {"data": data}
            except (TimeoutError, aiohttp.ClientError, ValueError):
                continue
    return {}


IDENTITY_PATHS = ("/props", "/server_info", "/get_server_info", "/info", "/v1/models", "/version")
"""What `identify_engine` asks a server, in the order the rules read the answers."""


@dataclass(frozen=True)
class Identified:
    """The engine a server's own answers name, and the fields that said so."""

    engine: str
    evidence: str


async def identify_engine(base_url: str, timeout_s: float = 5.0) -> Identified | None:
    """The engine behind `base_url`, from its info endpoints' answers; None when none of them names one."""
    return engine_of(await _identity_answers(base_url.rstrip("/"), timeout_s))


def engine_of(answers: Mapping[str, Any]) -> Identified | None:
    """The first engine whose own fields the answers (path → JSON of a 200 answer) carry.

    - llama.cpp `/props` (tools/server/server-context.cpp get_res_props, b11312):
      `default_generation_settings`, `total_slots`, `build_info` ("b<build>-<commit>",
      common/build-info.cpp.in);
    - SGLang `/server_info` (else `/get_server_info`; python/sglang/srt/entrypoints/http_server.py
      get_server_info): its server args (`model_path`, ...) with `internal_states` and `version`;
    - TGI `/info` (router/src/server.rs: `Info { model_id, ..., router: env!("CARGO_PKG_NAME"), version:
      env!("CARGO_PKG_VERSION"), ... }`): `model_id`, `router`, `version`;
    - vLLM `/v1/models` (ModelCard `owned_by: str = "vllm"`, entrypoints/openai protocol) or `/version`
      answering only `{"version": ...}` (api_server `show_version`).
    """
    for rule in (_llamacpp, _sglang, _tgi, _vllm):
        found = rule(answers)
        if found is not None:
            return found
    return None


def _llamacpp(answers: Mapping[str, Any]) -> Identified | None:
    props = answers.get("/props")
    if not isinstance(props, dict) or not isinstance(props.get("default_generation_settings"), dict):
        return None
    if not isinstance(props.get("total_slots"), int) or not isinstance(props.get("build_info"), str):
        return None
    slots, build = props["total_slots"], props["build_info"]
    return Identified(
        "llamacpp", f"/props: default_generation_settings, total_slots {slots}, build_info {build}"
    )


def _sglang(answers: Mapping[str, Any]) -> Identified | None:
    for path in ("/server_info", "/get_server_info"):
        info = answers.get(path)
        if not isinstance(info, dict) or not isinstance(info.get("model_path"), str):
            continue
        if isinstance(info.get("internal_states"), list):
            return Identified("sglang", f"{path}: model_path, internal_states, version {info.get('version')}")
    return None


def _tgi(answers: Mapping[str, Any]) -> Identified | None:
    info = answers.get("/info")
    if not isinstance(info, dict) or not isinstance(info.get("model_id"), str):
        return None
    if not isinstance(info.get("router"), str) or not isinstance(info.get("version"), str):
        return None
    return Identified("tgi", f"/info: model_id, router {info['router']}, version {info['version']}")


def _vllm(answers: Mapping[str, Any]) -> Identified | None:
    models = answers.get("/v1/models")
    cards = models.get("data") if isinstance(models, dict) else None
    if isinstance(cards, list) and any(isinstance(c, dict) and c.get("owned_by") == "vllm" for c in cards):
        return Identified("vllm", '/v1/models: owned_by "vllm"')
    version = answers.get("/version")
    if isinstance(version, dict) and set(version) == {"version"} and isinstance(version["version"], str):
        return Identified("vllm", f"/version: only a version ({version['version']})")
    return None


async def _identity_answers(base_url: str, timeout_s: float) -> dict[str, Any]:
    """path → the JSON of each identity path that answers 200 with JSON."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        found = await asyncio.gather(*(_json_at(session, base_url + path) for path in IDENTITY_PATHS))
    return {path: answer for path, answer in zip(IDENTITY_PATHS, found, strict=True) if answer is not None}


async def _json_at(session: aiohttp.ClientSession, url: str) -> Any:
    """The JSON of a 200 answer at `url`; None for anything else."""
    try:
        async with session.get(url) as response:
            return await response.json(content_type=None) if response.status == 200 else None
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return None
