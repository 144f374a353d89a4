"""`evalclient sim`: the TGI simulator, with TGI's launcher flags (evalclient.sim parses them)."""

from __future__ import annotations

import sys

import click


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sim(args: tuple[str, ...]) -> None:
    """Start the TGI simulator (takes TGI's launcher flags; --help lists them)."""
    from evalclient.sim import main as sim_main

    sys.exit(sim_main(list(args)))
