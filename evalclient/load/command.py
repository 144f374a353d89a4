"""`evalclient load`: the CLI side of the probe — options to settings, the server to probe, the output."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from evalclient.config import Config
from evalclient.deploy.model_cache import resolve_model_cache
from evalclient.engines import get_adapter
from evalclient.errors import UsageError
from evalclient.load.report import render, write
from evalclient.load.session import LoadSettings, parse_slo, run_load
from evalclient.load.workload import Workload, dataset_workload, fixed_workload


@dataclass(frozen=True)
class LoadRequest:
    """What `evalclient load` was asked: the server (an endpoint, or a deployment to start) and the probe."""

    endpoint: str | None = None
    models: str | None = None
    presets: str | None = None
    engine: str | None = None
    image: str | None = None
    gpus: tuple[int, ...] | None = None
    model_cache: Path | None = None
    model_name: str | None = None
    concurrency: str | None = None
    rate: str | None = None
    requests: int | None = None
    duration: float | None = None
    warmup: int = 10
    prompt_words: int = 128
    output_tokens: int = 128
    dataset: str | None = None
    data_dir: Path | None = None
    slo: str | None = None
    output: Path | None = None


def numbers(text: str | None, kind: type[int] | type[float], option: str) -> list[Any]:
    """`1,8,32` → [1, 8, 32]; UsageError naming the option for anything else."""
    try:
        values = [kind(v) for v in (text or "").split(",") if v.strip()]
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a comma list of numbers", f"e.g. {option} 1,8,32"
        ) from None
    if any(v <= 0 for v in values):
        raise UsageError(f"{option} values must be positive")
    return values


def load_command(config: Config, opts: LoadRequest, console: Console, err: Console) -> None:
    """Run the probe the request describes and print (and write) its figures."""
    if not opts.endpoint and not (opts.models and opts.presets):
        raise UsageError("give --endpoint URL, or --models NAME --presets NAME to start a deployment")
    settings = LoadSettings(
        concurrencies=numbers(opts.concurrency, int, "--concurrency"),
        rates=numbers(opts.rate, float, "--rate"),
        requests=opts.requests or 200,
        duration_s=opts.duration,
        warmup=opts.warmup,
        slo=parse_slo(opts.slo),
    )
    rows, header = asyncio.run(_probe(config, opts, settings, err))
    render(rows, console, f"load: {header['model']} at {header['base_url']} — {header['workload']}")
    if header["output_length"].startswith("as generated"):
        err.print(f"note: {header['engine']} cannot ignore EOS; output lengths are what the model generated")
    output = opts.output
    if output is not None:
        plot = write(Path(output), rows, header)
        err.print(f"figures written to {output}, plot to {plot}")


async def _probe(
    config: Config, opts: LoadRequest, settings: LoadSettings, err: Console
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    async with AsyncExitStack() as stack:
        engine = opts.engine or config.sweep.engine.kind
        base_url, model, preset_name, engine = await _server(config, opts, engine, stack, err)
        adapter = get_adapter(engine)
        workload = await _workload(opts, adapter.ignores_eos)
        from evalclient.deploy.endpoint import fetch_info

        info = await fetch_info(base_url, adapter.info_paths)
        model = opts.model_name or model or str(info.get("model_id") or _served(info) or "tgi")
        default = adapter.server_concurrency(info, config.preset(preset_name))
        if not settings.concurrencies and not settings.rates:
            err.print(f"concurrency {default}: what the server takes at once")
        return await run_load(base_url, adapter, model, workload, settings, default)
    raise AssertionError("unreachable")


async def _workload(opts: LoadRequest, ignore_eos: bool) -> Workload:
    if opts.dataset:
        return await dataset_workload(opts.dataset, 200, opts.output_tokens, ignore_eos, opts.data_dir)
    return fixed_workload(opts.prompt_words, opts.output_tokens, ignore_eos)


async def _server(
    config: Config, opts: LoadRequest, engine: str, stack: AsyncExitStack, err: Console
) -> tuple[str, str | None, str, str]:
    """(base URL, model name if known, preset name, engine): the endpoint, or a deployment started for the
    probe (on the engine image that serves its model)."""
    if opts.endpoint:
        return opts.endpoint.rstrip("/"), None, opts.presets or "balanced", engine
    from evalclient.planning.plan import build_plan, routes_for
    from evalclient.results import ResultsOrganizer
    from evalclient.sweep.runner import RunOptions, make_provider

    plan = build_plan(
        config,
        models=[str(opts.models)],
        presets=[str(opts.presets)],
        datasets=[],
        samples=None,
        engine=engine,
        image=opts.image,
        routes=routes_for(config, engine, opts.image),
    )
    deployment = plan.deployments[0]
    results = ResultsOrganizer(Path(config.sweep.output))
    options = RunOptions(
        output=results.base_dir,
        gpus=opts.gpus or (),
        ready_timeout_s=config.sweep.ready_timeout_s,
        model_cache=resolve_model_cache(opts.model_cache),
    )
    if not deployment.serving.starts:
        raise UsageError(f"{deployment.key}: {deployment.serving.refusal}", "pick another model or --engine")
    provider = make_provider(options, results, deployment.engine)
    await asyncio.to_thread(provider.prepare)
    if options.gpus:
        await asyncio.to_thread(_require_cuda, deployment.image, deployment.engine)
    err.print(f"starting {deployment.key} for the probe ({deployment.serving.label})")
    server = await stack.enter_async_context(
        provider.deploy(
            deployment,
            deployment.launch_spec,
            run_id=f"load-{uuid.uuid4().hex[:6]}",
            log_path=results.log_path("model_evaluation", f"{deployment.key}_load_container"),
        )
    )
    return server.base_url, deployment.model.hub_id, deployment.preset.name, deployment.engine


def _require_cuda(image: str, engine: str) -> None:
    from evalclient.deploy.docker_engine import DockerEngine
    from evalclient.host.preflight import require_image_cuda
    from evalclient.monitor import probe_gpus

    require_image_cuda(image, engine, probe_gpus(), DockerEngine().image_env(image))


def _served(info: dict[str, Any]) -> str | None:
    data = info.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return str(data[0].get("id"))
    return None
