"""`plan --backend ray`: which deployments could run on which node of the cluster, and a rough wall time."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evalclient.cluster.ray_cluster import ClusterNode, sizing_pool
from evalclient.planning.plan import Plan
from evalclient.planning.schedule import makespan, simulate
from evalclient.planning.slots import size_deployment, sweep_jobs
from evalclient.planning.view import _duration, render_plan


def render_cluster_plan(plan: Plan, console: Console, nodes: list[ClusterNode]) -> None:
    """The plan sized on the cluster, then one column per node: the GPUs each deployment takes there, or
    why it cannot run there."""
    pool = sizing_pool(nodes)
    render_plan(plan, console, pool, schedule=False)
    table = Table(title=f"placement on the Ray cluster ({len(nodes)} nodes)")
    table.add_column("deployment")
    for node in nodes:
        table.add_column(node.describe())
    for deployment in plan.deployments:
        cells = []
        for node in nodes:
            if not node.gpu_count:
                cells.append("—")
                continue
            sizing = size_deployment(deployment, node.pool) if deployment.serving.starts else None
            if sizing is None:
                cells.append("refused")
                continue
            cells.append(f"{sizing.shards} GPU(s)" if sizing.shards else "cannot run")
        table.add_row(deployment.key, *cells)
    console.print(table)
    _, jobs = sweep_jobs(plan.deployments, pool)
    total = sum(node.gpu_count for node in nodes)
    wall = makespan(simulate(jobs, max(total, 1)))
    sequential = sum(job.minutes for job in jobs)
    console.print(
        f"{plan.combinations:,} combinations in {len(plan.deployments)} deployments; {total} GPUs on "
        f"{len(nodes)} nodes; estimated wall time: ~{_duration(wall)} (one deployment at a time: "
        f"~{_duration(sequential)}); rough: the cluster's GPUs counted as one pool, while Ray keeps each "
        "deployment's GPUs on one node",
        soft_wrap=True,
    )
