"""Where a judge comes from: an OpenAI-compatible endpoint, or a models.yaml model deployed for the purpose.

- Endpoint (`--judge-endpoint URL`): chat completions with the standard OpenAI fields only; the API key is
  read from the environment variable EVALCLIENT_JUDGE_API_KEY (sent as a bearer token, never stored or
  logged). Its name is `--judge-endpoint-model` where given (also the model sent), else the URL.
- Deployment (`--judge-model NAME`): the model started like any sweep deployment (container or local
  simulator process, a preset, the engine's image), its thinking mode switched off for judging.

A judge that is one of the sweep's own models is a self-judge: its scores are labelled as such and are not
comparable to the GPT-4-judged MT-Bench and AlpacaEval leaderboards.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from evalclient.client import ServerClient
from evalclient.client.protocols.openai_chat import OpenAIChat
from evalclient.client.requests import RequestKind
from evalclient.config import Config, ModelSpec
from evalclient.deploy.container import ContainerProvider
from evalclient.deploy.docker_engine import DockerEngine
from evalclient.deploy.local_engine import LocalSimulatorEngine
from evalclient.engines import get_adapter
from evalclient.engines.base import RequestNeeds
from evalclient.engines.model import DeploymentModel
from evalclient.errors import EngineError, UsageError
from evalclient.judge.session import ChatSender, Opener
from evalclient.planning.plan import DeploymentPlan, routes_for, serve
from evalclient.results import ResultsOrganizer
from evalclient.tasks.alpaca_eval_prompt import TOP_LOGPROBS

API_KEY_ENV = "EVALCLIENT_JUDGE_API_KEY"
SELF_JUDGE_NOTE = (
    "self-judge: a model of this sweep grades the answers; not comparable to GPT-4-judged leaderboards"
)


@dataclass(frozen=True)
class JudgeSettings:
    """How to reach the judge and how hard to drive it."""

    endpoint: str | None = None
    endpoint_model: str | None = None
    model: str | None = None
    preset: str = "balanced"
    engine: str = "tgi"
    image: str | None = None
    gpus: tuple[int, ...] = ()
    local_simulator: bool = False
    concurrency: int | None = None
    request_timeout_s: float = 600
    max_retries: int = 5
    ready_timeout_s: float = 1800
    memory_limit: str | None = None
    model_cache: Path | None = None
    """The host's Hugging Face cache mounted into the judge container; None mounts nothing (simulator)."""


def largest_model(config: Config, names: Iterable[str]) -> ModelSpec:
    """The model with the most parameters among `names` (the first of equals)."""
    models = [config.model(name) for name in names]
    if not models:
        raise UsageError("no model to judge with", "pass --judge-endpoint or --judge-model")
    return max(models, key=lambda m: m.params_b)


def endpoint_judge(settings: JudgeSettings) -> tuple[dict[str, Any], Opener]:
    """The identity and opener of an endpoint judge."""
    assert settings.endpoint is not None
    base = settings.endpoint.rstrip("/").removesuffix("/v1")
    identity = {
        "name": settings.endpoint_model or f"endpoint {base}",
        "model": settings.endpoint_model,
        "kind": "endpoint",
        "endpoint": base,
        "self_judge": False,
    }

    async def open_endpoint(stack: AsyncExitStack) -> ChatSender:
        key = os.environ.get(API_KEY_ENV)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        served = settings.endpoint_model or await listed_model(base, headers)
        client = ServerClient(
            base,
            protocols={RequestKind.CHAT: OpenAIChat(full_sampling=False)},
            model=served or "tgi",
            concurrency=settings.concurrency or 16,
            request_timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries,
            headers=headers,
        )
        return await stack.enter_async_context(client)

    return identity, open_endpoint


async def listed_model(base: str, headers: dict[str, str]) -> str | None:
    """The first model id the endpoint lists at /v1/models, None when it lists none."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15), headers=headers) as session,
            session.get(base + "/v1/models") as response,
        ):
            data = await response.json(content_type=None) if response.status == 200 else {}
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return None
    listed = data.get("data") if isinstance(data, dict) else None
    first = listed[0] if isinstance(listed, list) and listed else None
    return str(first["id"]) if isinstance(first, dict) and "id" in first else None


def deployment_judge(
    config: Config,
    settings: JudgeSettings,
    results: ResultsOrganizer,
    run_id: str,
    sweep_models: Iterable[str],
) -> tuple[dict[str, Any], Opener]:
    """The identity and opener of a judge deployed from models.yaml."""
    assert settings.model is not None
    model, preset = config.model(settings.model), config.preset(settings.preset)
    serving = serve(
        model,
        preset,
        settings.engine,
        settings.image or get_adapter(settings.engine).default_image,
        routes=routes_for(config, settings.engine, settings.image),
        auto_route=settings.image is None,
    )
    if not serving.starts:
        raise EngineError(
            f"the judge {model.key}: {serving.refusal}", "pick another --judge-model or --engine"
        )
    adapter = get_adapter(serving.engine)
    self_judge = model.key in set(sweep_models)
    identity = {
        "name": model.key,
        "model": model.hub_id,
        "kind": "deployment",
        "engine": serving.engine,
        "preset": preset.name,
        "image": serving.image,
        "serving_path": serving.path,
        "substitutions": list(serving.substitutions),
        "self_judge": self_judge,
    }
    if self_judge:
        identity["note"] = SELF_JUDGE_NOTE

    async def open_deployment(stack: AsyncExitStack) -> ChatSender:
        engine = LocalSimulatorEngine() if settings.local_simulator else DockerEngine()
        provider = ContainerProvider(
            engine,
            gpus=list(settings.gpus) or None,
            cache_dir=settings.model_cache,
            ready_timeout_s=settings.ready_timeout_s,
            memory_limit=settings.memory_limit,
        )
        await asyncio.to_thread(provider.prepare)
        plan = DeploymentPlan(model, preset, (), serving)
        log_path = results.log_path("model_evaluation", f"judge_{plan.key}_{run_id}_container")
        needs = RequestNeeds(top_logprobs=TOP_LOGPROBS)  # alpaca_eval's judge reads its verdict's logprobs
        server = await stack.enter_async_context(
            provider.deploy(
                plan,
                lambda ports: plan.launch_spec(ports, needs=needs),
                run_id=run_id,
                log_path=log_path,
            )
        )
        client = ServerClient(
            server.base_url,
            protocols=adapter.protocols(),
            model=model.hub_id,
            concurrency=settings.concurrency or adapter.server_concurrency(server.info, preset),
            request_timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries,
            health_path=adapter.health_path,
            on_dead=server.mark_lost,
        )
        await stack.enter_async_context(client)
        thinking = "none" if model.thinking == "none" else "disabled"
        return DeploymentModel(client, adapter, thinking, model.stop_token_ids)

    return identity, open_deployment
