"""Options and help texts that several commands share, and the --samples type."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from evalclient.cli.selection import Selection

GPUS_HELP = (
    "GPUs the sweep may use: 0,1 | auto (every visible GPU) | none | virtual:N[xGB][@CC] (stand-ins, e.g. "
    "virtual:8x80@9.0: deployments sized and scheduled on them, no device given to the containers)."
)
BACKEND = click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where deployments run: this host's GPUs, or the nodes of a Ray cluster (pip install "
    "'evalclient[ray]'; --gpus is then auto or virtual[:xGB@CC], Ray assigns the GPUs).",
)
RAY_ADDRESS = click.option(
    "--ray-address", help="Ray cluster to join with --backend ray, HOST:PORT (default: this host's cluster)."
)
QUIET = click.option("--quiet", is_flag=True, help="No progress output.")


class SamplesType(click.ParamType):  # type: ignore[type-arg]
    """A positive sample count, or "all" for the whole split."""

    name = "N|all"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int):
            return value
        if value == "all":
            return "all"
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            self.fail(f"{value!r} is not a positive number or 'all'", param, ctx)
        return count


SAMPLES = SamplesType()
REPEAT_HELP = (
    "Ask N answered samples of each dataset again on the same deployment at another concurrency: the noise "
    "floor the report reads preset differences against."
)
SAMPLES_HELP = "Samples per dataset (default: the sweep's cap); 'all' for the whole split."
MODEL_CACHE = click.option(
    "--model-cache",
    type=click.Path(path_type=Path, file_okay=False),
    help="Hugging Face cache mounted into every engine container (default: $HF_HOME, else "
    "~/.cache/huggingface).",
)


def engines() -> click.Choice:  # type: ignore[type-arg]
    """The --engine choice: every engine with an adapter."""
    from evalclient.engines import engine_kinds

    return click.Choice(engine_kinds())


def _selection_options() -> tuple[Callable[[Any], Any], ...]:
    return (
        click.option("--models", help="Comma list of model names (default: the sweep's)."),
        click.option("--presets", help="Comma list of presets (default: the sweep's)."),
        click.option(
            "--datasets",
            help="Comma list of datasets (default: the sweep's); options after colons: mmlu:0shot, "
            "arc_challenge:generative, codet5:java.",
        ),
        click.option("--samples", type=SAMPLES, help=SAMPLES_HELP),
        click.option("--engine", type=engines(), help="Inference engine."),
        click.option("--image", help="Engine image to run (default: the engine's pinned image)."),
        click.option(
            "--mc-mode",
            type=click.Choice(["auto", "loglikelihood", "generative"]),
            default="auto",
            show_default=True,
            help="Multiple-choice tasks: auto = log-likelihood where the engine serves prompt logprobs.",
        ),
    )


def selection_options(command: Callable[..., None]) -> Callable[..., None]:
    """Adds --models, --presets, --datasets, --samples, --engine, --image and --mc-mode, and hands them to
    `command` as one keyword argument, `selection`."""

    @functools.wraps(command)
    def with_selection(
        *args: Any,
        models: str | None,
        presets: str | None,
        datasets: str | None,
        samples: int | str | None,
        engine: str | None,
        image: str | None,
        mc_mode: str,
        **kwargs: Any,
    ) -> None:
        selection = Selection(models, presets, datasets, samples, engine, image, mc_mode)
        command(*args, selection=selection, **kwargs)

    decorated: Callable[..., None] = with_selection
    for option in reversed(_selection_options()):
        decorated = option(decorated)
    return decorated
