"""`evalclient report`, and the reports every run and judge phase rebuilds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from evalclient.cli.common import config_of, err, out
from evalclient.config import Config
from evalclient.errors import EvalClientError, ResultsError, first_line


@click.command()
@click.option("--output", type=click.Path(path_type=Path), help="Results folder (default: the sweep's).")
@click.option(
    "--compare",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    multiple=True,
    help="Results folder of the same sweep on another engine image, compared side by side (repeatable).",
)
@click.pass_context
def report(ctx: click.Context, output: Path | None, compare: tuple[Path, ...]) -> None:
    """Rebuild metrics/aggregated and reports/ (Markdown, one HTML page) from a results folder."""
    config = config_of(ctx)
    show_reports(config, output or Path(config.sweep.output), compare)


def show_reports(config: Config, base_dir: Path, compare: Sequence[Path]) -> None:
    """Build every report of `base_dir`, print its key tables and where the files are."""
    from evalclient.report import ModelInfo, build_reports
    from evalclient.report.terminal import render

    models = {k: ModelInfo(m.family, m.size_class, m.params_b) for k, m in config.models.items()}
    built = build_reports(base_dir, models, compare)
    render(built.sections, out)
    err.print(
        f"reports: {built.html} and {base_dir / 'reports'}/*/ ({len(built.files)} files)", soft_wrap=True
    )


def try_reports(config: Config, base_dir: Path) -> EvalClientError | None:
    """Build the reports after a run; the error to exit with when they could not be (the results stand)."""
    from evalclient.results.disk_full import disk_full_error, full_disk_cause

    try:
        show_reports(config, base_dir, ())
    except Exception as exc:  # the run's results stand whatever happens here
        cause = full_disk_cause(exc)
        if cause is not None:
            return disk_full_error(base_dir, cause)
        return ResultsError(
            f"the reports could not be built ({type(exc).__name__}: {first_line(exc)}); the results stand",
            f"run `evalclient --debug report --output {base_dir}` to see why",
        )
    return None
