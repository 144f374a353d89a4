"""`evalclient plan`: the dry run of a selection, for this host's GPUs, stand-ins or a Ray cluster."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from evalclient.cli.common import config_of, out
from evalclient.cli.gpus import gpu_choice, ray_gpus
from evalclient.cli.options import BACKEND, GPUS_HELP, RAY_ADDRESS, selection_options
from evalclient.cli.selection import Selection, plan_for
from evalclient.errors import UsageError

if TYPE_CHECKING:
    from evalclient.planning.plan import Plan


@click.command()
@selection_options
@click.option("--gpus", default="auto", show_default=True, help=GPUS_HELP)
@BACKEND
@RAY_ADDRESS
@click.option("--json", "as_json", is_flag=True, help="Print the whole plan as one JSON object.")
@click.pass_context
def plan(
    ctx: click.Context,
    /,
    selection: Selection,
    gpus: str,
    backend: str,
    ray_address: str | None,
    as_json: bool,
) -> None:
    """Dry run: combinations, deployments, the engine image and serving path of each, flags, substitutions
    and refusals, the GPUs each needs, the schedule on the GPUs and the estimated wall time; starts nothing.
    With --backend ray: where each deployment could run on the cluster's nodes."""
    selected = plan_for(config_of(ctx), selection)
    if as_json and backend == "ray":
        raise UsageError("--json plans for this host's GPUs", "drop --backend ray, or --json")
    if backend == "ray":
        _show_cluster_plan(selected, gpus, ray_address)
    else:
        _show_host_plan(selected, gpus, as_json=as_json)


def _show_cluster_plan(selected: Plan, gpus: str, ray_address: str | None) -> None:
    """Where each deployment could run on the Ray cluster's nodes."""
    from evalclient.cluster.placement_view import render_cluster_plan
    from evalclient.cluster.ray_cluster import cluster_nodes, connect

    connect(ray_address)
    render_cluster_plan(selected, out, cluster_nodes(ray_gpus(gpus)))


def _show_host_plan(selected: Plan, gpus: str, *, as_json: bool) -> None:
    """The plan on this host's GPUs (or stand-ins): a table, or one JSON object."""
    from evalclient.monitor import probe_gpus
    from evalclient.planning.slots import real_pool
    from evalclient.planning.view import render_plan

    indices, pool = gpu_choice(gpus)
    probe = None
    if pool is None:
        probe = probe_gpus()
        pool = real_pool(tuple(range(probe.count)) if gpus == "auto" else indices, probe)
    if as_json:
        from evalclient.planning.json_view import plan_document

        click.echo(json.dumps(plan_document(selected, pool), indent=2))
        return
    render_plan(selected, out, pool, probe)
