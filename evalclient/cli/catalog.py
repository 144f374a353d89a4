"""What there is to evaluate: `models list`, `presets list|show` and `datasets list|fetch`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalclient.cli.common import config_of, err, out
from evalclient.cli.options import engines
from evalclient.config import resolve_names
from evalclient.errors import EvalClientError


@click.group()
def models() -> None:
    """Inspect the models of presets/models.yaml."""


@models.command("list")
@click.pass_context
def models_list(ctx: click.Context) -> None:
    """The models, their hub ids and notes."""
    from evalclient.planning.view import render_models

    render_models(config_of(ctx), out)


@click.group()
def presets() -> None:
    """Inspect the serving presets."""


@presets.command("list")
@click.pass_context
def presets_list(ctx: click.Context) -> None:
    """The presets and what they are for."""
    for preset in config_of(ctx).presets.values():
        out.print(f"[bold]{preset.name}[/bold]: {preset.description}")


@presets.command("show")
@click.argument("name")
@click.option("--engine", type=engines(), default="tgi", show_default=True)
@click.option("--model", "model_name", default="qwen2.5_8b", show_default=True)
@click.pass_context
def presets_show(ctx: click.Context, name: str, engine: str, model_name: str) -> None:
    """A preset's knobs and the launcher flags an engine gets for it."""
    from evalclient.planning.view import render_preset

    config = config_of(ctx)
    render_preset(config.preset(name), config.model(model_name), engine, out)


@click.group()
def datasets() -> None:
    """Inspect the datasets."""


@datasets.command("fetch")
@click.option("--datasets", "names", help="Comma list of datasets (default: the sweep's).")
@click.option(
    "--output", type=click.Path(path_type=Path), help="Results folder whose cache/datasets to fill."
)
@click.pass_context
def datasets_fetch(ctx: click.Context, names: str | None, output: Path | None) -> None:
    """Download the pinned hub files of each dataset (and the judge's data) into the cache, check their rows
    against the declarations and lock their hashes, for offline runs later; one line a dataset."""
    from evalclient.results import ResultsOrganizer
    from evalclient.tasks import task_names, variant_names

    config = config_of(ctx)
    valid = [*task_names(), *variant_names()]
    selected = resolve_names(names, valid if names else config.sweep.datasets, "dataset")
    cache = ResultsOrganizer(output or Path(config.sweep.output)).datasets_cache
    out.print(f"fetching {len(selected)} dataset(s) into {cache}")
    failed = [failure for name in selected for failure in _fetch(name, cache)]
    if failed:
        err.print(f"[red]{len(failed)} failed:[/red] {', '.join(failed)}", soft_wrap=True, highlight=False)
        sys.exit(1)


def _fetch(name: str, cache: Path) -> list[str]:
    """Fetch one dataset and its judge data, one line each; what failed (none, or one entry)."""
    from evalclient.judge.data import fetch_judge_files
    from evalclient.tasks.fetch import fetch_dataset

    fetched = fetch_dataset(name, cache)
    (err if fetched.error else out).print(fetched.line, soft_wrap=True, highlight=False, markup=False)
    if fetched.error:
        return [name]
    try:
        judge_file = fetch_judge_files(name, cache)
    except EvalClientError as exc:
        err.print(f"✗ {name} judge data: {exc}", soft_wrap=True, highlight=False, markup=False)
        return [f"{name} (judge data)"]
    if judge_file is not None:
        out.print(f"✓ {name} judge data: {judge_file.name}", highlight=False, markup=False)
    return []


@datasets.command("list")
def datasets_list() -> None:
    """The twelve datasets and their hub sources."""
    from evalclient.planning.view import render_datasets

    render_datasets(out)
