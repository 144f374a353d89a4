"""`evalclient score`: stored answers scored offline, code datasets in the code sandbox."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from evalclient.cli.common import cli_state, config_of, err
from evalclient.config import SandboxSettings


@click.command()
@click.option("--dataset", required=True, help="The dataset the answers belong to.")
@click.option(
    "--predictions",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help='JSONL, one {"id": ..., "response": "..."} per line.',
)
@click.option(
    "--data-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The dataset's rows (JSON/JSONL/Parquet in the hub schema) instead of the hub.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the per-sample verdicts here (JSONL, one object per id).",
)
@click.pass_context
def score(
    ctx: click.Context, dataset: str, predictions: Path, data_file: Path | None, output: Path | None
) -> None:
    """Score stored answers offline; prints the metrics JSON and writes per-sample verdicts.

    Code datasets run the answers in the code sandbox (sweep.yaml's `sandbox:`; EVALCLIENT_SANDBOX=auto,
    docker or subprocess and EVALCLIENT_SANDBOX_IMAGE override it)."""
    from evalclient.sandbox import choose_sandbox
    from evalclient.tasks.context import ScoreContext
    from evalclient.tasks.offline_scoring import score_predictions, write_verdicts

    sandbox = choose_sandbox(_sandbox_settings(ctx))
    result = asyncio.run(score_predictions(dataset, predictions, data_file, context=ScoreContext(sandbox)))
    if sandbox.started:
        err.print(f"programs ran in the code sandbox: {sandbox.name}")
    scored, every = result.metrics["num_scored"], result.metrics["num_dataset_samples"]
    if scored < every:
        err.print(
            f"[yellow]{scored} of {dataset}'s {every} samples scored: the predictions hold no answer for the "
            f"other {every - scored}; the metrics are over those {scored} only",
            soft_wrap=True,
        )
    click.echo(json.dumps(result.metrics, indent=2))
    if output is not None:
        write_verdicts(output, result)
        err.print(f"{len(result.per_sample)} verdicts written to {output}")


def _sandbox_settings(ctx: click.Context) -> SandboxSettings:
    """sweep.yaml's sandbox section; the defaults where no configuration folder was given or found."""
    from evalclient.errors import ConfigError

    try:
        return config_of(ctx).sweep.sandbox
    except ConfigError:
        if cli_state(ctx).config_dir is not None:
            raise
        return SandboxSettings()
