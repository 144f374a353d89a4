"""The `evalclient` command line: the `cli` group, its error mapping, and `main`; each command group lives
in its own module (run, plan, judge, report, score, catalog, host, load, sim) and builds typed values
for the library, never a dict of options.

common.py     the two consoles and the group's state (configuration folder, --debug, the configuration)
options.py    options and help texts shared by several commands, the --samples type
selection.py  `Selection` (what to evaluate) and its plan
gpus.py       --gpus values: indices, stand-ins, a Ray cluster's GPUs
request.py    `RunRequest` (a sweep to run) assembled into the runner, its summary and reports
signals.py    Ctrl-C, SIGTERM and SIGHUP as a cancellation
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from evalclient import __version__
from evalclient.cli import catalog, host, judge, load, plan, report, run, score, sim
from evalclient.cli.common import CliState, err
from evalclient.cli.run import DEMO_DATASETS, DEMO_MODELS
from evalclient.errors import EvalClientError

__all__ = ["DEMO_DATASETS", "DEMO_MODELS", "cli", "main"]


class _Group(click.Group):
    """Maps EvalClientError to one line on stderr and its exit code; Ctrl-C to 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvalClientError as exc:
            if isinstance(ctx.obj, CliState) and ctx.obj.debug:
                raise
            err.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a further Ctrl-C while exiting changes nothing
            err.print(
                "interrupted: containers were removed and every answer so far is checkpointed; "
                "run the same command again to resume"
            )
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="evalclient")
@click.option(
    "--config-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder with the preset, models and sweep files (default: ./presets).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None, debug: bool) -> None:
    """Evaluate LLM inference servers: models x presets x datasets, in containers."""
    ctx.obj = CliState(config_dir=config_dir, debug=debug)


for _command in (
    run.run,
    run.eval_all,
    run.demo,
    plan.plan,
    judge.judge,
    report.report,
    score.score,
    host.doctor,
    host.cleanup,
    load.load,
    sim.sim,
    catalog.models,
    catalog.presets,
    catalog.datasets,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="evalclient")
