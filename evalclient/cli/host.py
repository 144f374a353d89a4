"""This host: `doctor` (is it ready for the selected deployments?) and `cleanup` (the containers and
volumes runs left behind)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalclient.cli.common import config_of, out
from evalclient.cli.options import MODEL_CACHE, engines
from evalclient.cli.selection import Selection, plan_for


@click.command()
@click.option("--models", help="Comma list of model names (default: the sweep's).")
@click.option("--presets", help="Comma list of presets (default: the sweep's).")
@click.option("--engine", type=engines(), help="Inference engine (default: the sweep's).")
@click.option("--image", help="Engine image (default: the sweep's, else the engine's pinned image).")
@MODEL_CACHE
@click.pass_context
def doctor(
    ctx: click.Context,
    /,
    models: str | None,
    presets: str | None,
    engine: str | None,
    image: str | None,
    model_cache: Path | None,
) -> None:
    """Check this GPU host: Docker, NVIDIA runtime or CDI, GPUs and driver, the image's CUDA, disk for the
    weights, the HF token, and which deployments fit each GPU; each gap with its fix. Exit 1 if any fails."""
    from evalclient.host.doctor import gather, render, run_checks

    selection = Selection(models=models, presets=presets, datasets="", engine=engine, image=image)
    plan = plan_for(config_of(ctx), selection)
    out.print(f"evalclient doctor: engine {plan.engine}, {len(plan.deployments)} deployment(s)")
    if render(run_checks(plan, gather(plan, model_cache)), out):
        sys.exit(1)


@click.command()
@click.option("--run", "run_id", help="Only the resources of this run id (see manifest.json).")
@click.option("--all", "include_live", is_flag=True, help="Also the containers of runs that are still alive.")
def cleanup(run_id: str | None, include_live: bool) -> None:
    """Remove the containers and volumes labelled evalclient.managed, except those of live runs."""
    from evalclient.deploy.docker_engine import DockerEngine

    removed, kept = DockerEngine().cleanup(run_id, include_live=include_live)
    for item in removed:
        out.print(f"removed {item}")
    for item in kept:
        out.print(f"kept {item}: its run is still going (--all removes it too)")
    out.print(f"{len(removed)} resource(s) removed" if removed else "nothing to clean up")
