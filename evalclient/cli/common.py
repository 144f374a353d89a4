"""What every command shares: the two consoles and the state the `cli` group hands its commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from evalclient.config import Config, load_config

out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)


@dataclass
class CliState:
    """The group's options (`ctx.obj`), and the configuration once a command has read it."""

    config_dir: Path | None
    debug: bool
    config: Config | None = None


def cli_state(ctx: click.Context) -> CliState:
    """The state the `cli` group put on the context."""
    state = ctx.find_object(CliState)
    if state is None:
        raise RuntimeError("a command ran outside the evalclient group")
    return state


def config_of(ctx: click.Context) -> Config:
    """The configuration folder's contents, read once per invocation."""
    state = cli_state(ctx)
    if state.config is None:
        state.config = load_config(state.config_dir)
    return state.config
