"""`evalclient load`: the performance probe of a server (its work is evalclient.load.command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evalclient.cli.common import config_of, err, out
from evalclient.cli.gpus import parse_gpus
from evalclient.cli.options import MODEL_CACHE, engines


@click.command()
@click.option("--endpoint", help="URL of the server to probe.")
@click.option("--models", help="Start a deployment of this model for the probe (with --presets).")
@click.option("--presets", help="The preset of that deployment (and of the default concurrency).")
@click.option("--engine", type=engines(), help="Engine of the server (protocol, ignore_eos).")
@click.option("--image", help="Engine image for a deployment started for the probe.")
@click.option(
    "--gpus", default="auto", show_default=True, help="GPUs for that deployment: 0,1 | auto | none."
)
@MODEL_CACHE
@click.option("--model-name", help="Model name to send (default: what the server reports).")
@click.option("--concurrency", help="Comma list: one step per concurrency (default: what the server takes).")
@click.option("--rate", help="Comma list of request rates per second (Poisson arrivals), one step each.")
@click.option("--requests", type=click.IntRange(min=1), help="Requests per step (default 200).")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Seconds per step at most.")
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Requests per step not counted.",
)
@click.option("--prompt-words", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--output-tokens", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--dataset", help="Draw prompts from this dataset's chat requests instead.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--slo", help="Latency targets for goodput: ttft_ms=500,itl_ms=50,e2e_ms=10000.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the figures as JSON (and a plot).",
)
@click.pass_context
def load(ctx: click.Context, /, **opts: Any) -> None:
    """Performance probe of a TGI or OpenAI-compatible server: latency percentiles, throughput, goodput."""
    from evalclient.load.command import LoadRequest, load_command

    gpus = opts.pop("gpus") or "auto"
    request = LoadRequest(**opts, gpus=parse_gpus(gpus) if opts.get("models") else None)
    load_command(config_of(ctx), request, out, err)
