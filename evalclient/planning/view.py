"""Renders plans and configuration as tables for `plan`, `models list`, `presets show`, `datasets list`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evalclient.config import Config, ModelSpec, Preset
from evalclient.engines import get_adapter
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning.plan import DeploymentPlan, Plan
from evalclient.planning.schedule import (
    MINUTES_PER_COMBINATION,
    STARTUP_MINUTES,
    Placement,
    makespan,
    simulate,
)
from evalclient.planning.slots import GpuPool, Sizing, sweep_jobs


def render_plan(
    plan: Plan, console: Console, pool: GpuPool, probe: GpuProbe | None = None, *, schedule: bool = True
) -> None:
    """Deployments with their engine image, serving path and GPUs; the substitutions (knobs an engine does
    not apply), routes and refusals; the schedule on the pool, the totals and the wall time (the last two only
    with `schedule`: a cluster's are its own)."""
    sizings, jobs = sweep_jobs(plan.deployments, pool)
    main = plan.image or get_adapter(plan.engine).default_image
    table = Table(title=f"plan: engine {plan.engine}, image {main}")
    for header in ("#", "model", "preset", "engine (path)", "datasets (samples)", "weights", "GPUs"):
        table.add_column(header)
    fit_notes: list[str] = []
    for number, dep in enumerate(plan.deployments, 1):
        sizing = sizings.get(dep.key)
        if sizing is not None and sizing.fit is not None:
            fit_notes.extend(sizing.fit.notes)
        jobs_cell = ", ".join(f"{j.title}: {j.label}" for j in dep.datasets)
        table.add_row(
            str(number),
            dep.model.key,
            dep.preset.name,
            _engine_cell(dep, main),
            jobs_cell,
            f"~{dep.weights_gb():.0f} GB",
            _gpus_cell(dep, sizing, pool),
        )
    console.print(table)
    _render_serving(plan, console)
    for note in plan.notes():
        console.print(f"[yellow]datasets:[/yellow] {note}", soft_wrap=True)
    for note in dict.fromkeys(fit_notes):
        console.print(f"[yellow]GPU:[/yellow] {note}", soft_wrap=True, highlight=False)
    for sizing in sizings.values():
        if sizing.reason is not None:
            console.print(f"[red]✗[/red] {sizing.reason}", soft_wrap=True, highlight=False)
    unserved = _unserved(plan)
    if unserved:
        console.print(f"[red]cannot serve:[/red] {unserved}", soft_wrap=True)
    if not schedule:
        return
    placements = simulate(jobs, max(len(pool.gpus), 1))
    if pool.gpus:
        _render_schedule(placements, pool, console)
    console.print(
        f"{_count(plan.combinations, 'combination')} in {_count(len(plan.deployments), 'deployment')}, "
        f"{_samples(plan.requests)}; {_pool_line(pool, probe)}"
    )
    sequential = sum(job.minutes for job in jobs)
    wall = makespan(placements)
    parallel = f" on {pool.describe()}" if len(pool.gpus) > 1 else ""
    console.print(
        f"estimated wall time: ~{_duration(wall)}{parallel} "
        f"(one deployment at a time: ~{_duration(sequential)}); rough: {MINUTES_PER_COMBINATION:g} min per "
        "150-sample combination for an 8B bf16 model (the seed plan's pace), scaled by the weights read per "
        f"token and the GPUs, plus {STARTUP_MINUTES:g} min start-up",
        soft_wrap=True,
    )


def _engine_cell(dep: DeploymentPlan, main: str) -> str:
    serving = dep.serving
    image = "" if dep.image == main else f" [{dep.image}]"
    return f"{serving.label}{image}"


def _render_serving(plan: Plan, console: Console) -> None:
    """Each route, substitution and refusal once, with how many deployments it concerns."""
    lines: dict[str, int] = {}
    for dep in plan.deployments:
        serving = dep.serving
        for kind, text in (
            ("route", serving.route),
            *(("substitution", note) for note in serving.substitutions),
            ("refused" if not serving.starts else "expected to fail", serving.refusal),
        ):
            if text:
                key = f"{kind}\x00{text}"
                lines[key] = lines.get(key, 0) + 1
    styles = {"route": "cyan", "substitution": "yellow", "refused": "red", "expected to fail": "yellow"}
    for key, count in lines.items():
        kind, text = key.split("\x00", 1)
        times = f" ({count} deployments)" if count > 1 else ""
        console.print(
            f"[{styles[kind]}]{kind}:[/{styles[kind]}] {text}{times}", soft_wrap=True, highlight=False
        )


def _gpus_cell(dep: DeploymentPlan, sizing: Sizing | None, pool: GpuPool) -> str:
    if not dep.serving.starts:
        return "refused"
    if sizing is None or sizing.shards is None:
        return "cannot run"
    if not pool.gpus:
        return "—"
    fit = sizing.fit.summary if sizing.fit is not None else ""
    return f"{sizing.shards}: {fit}" if fit else str(sizing.shards)


def _render_schedule(placements: list[Placement], pool: GpuPool, console: Console) -> None:
    """Which deployment on which GPUs, in which wave, from when to when (estimated)."""
    table = Table(title=f"schedule on {pool.describe()} (estimated)")
    for header in ("wave", "start", "end", "GPUs", "deployment", "minutes"):
        table.add_column(header)
    for p in placements:
        gpus = ",".join(str(pool.gpus[i].index) for i in p.gpus)
        table.add_row(
            str(p.wave),
            _clock(p.start),
            _clock(p.end),
            gpus,
            p.job.key,
            f"{p.job.minutes:.0f}",
        )
    console.print(table)


def _clock(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours}:{rest:02d}"


def _pool_line(pool: GpuPool, probe: GpuProbe | None) -> str:
    if pool.gpus:
        return pool.describe()
    if probe is not None and probe.count == 0:
        return f"no GPU visible ({probe.reason})"
    return "no GPU (one deployment at a time)"


def _unserved(plan: Plan) -> str:
    """Datasets whose request kinds a deployment's engine cannot serve, with the engine and the kinds."""
    missing: dict[str, None] = {}
    for dep in plan.started:
        kinds = get_adapter(dep.engine).request_kinds
        for job in dep.datasets:
            lacking = job.spec.request_kinds - kinds
            if lacking:
                missing[f"{job.name} on {dep.engine} ({', '.join(sorted(map(str, lacking)))})"] = None
    return ", ".join(missing)


def _samples(count: int | None) -> str:
    return "whole splits of some datasets" if count is None else _count(count, "sample")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _duration(minutes: float) -> str:
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min"


def render_models(config: Config, console: Console) -> None:
    table = Table(title=f"models ({config.directory / 'models.yaml'})")
    for header in ("name", "hub id", "revision", "size", "params", "thinking", "remote code", "note"):
        table.add_column(header)
    for m in config.models.values():
        table.add_row(
            m.key,
            m.hub_id,
            m.revision,
            m.size_class,
            f"{m.params_b:g}B",
            m.thinking,
            "yes" if m.trust_remote_code else "no",
            m.note,
        )
    console.print(table)


def render_preset(preset: Preset, model: ModelSpec, engine: str, console: Console) -> None:
    console.print(f"[bold]{preset.name}[/bold]: {preset.description}")
    for key, value in preset.model_dump(exclude={"name", "description"}).items():
        console.print(f"  {key}: {value}")
    adapter = get_adapter(engine)
    serving = adapter.serving(model, preset)
    console.print(f"{model.key} on {serving.label}", highlight=False)
    if serving.refusal is not None:
        console.print(f"[red]refused:[/red] {serving.refusal}", soft_wrap=True, highlight=False)
        return
    spec = adapter.launch_spec(model, preset, port=8080, serving=serving)
    console.print(f"flags: {spec.command_line}", soft_wrap=True, highlight=False)
    for note in spec.substitutions:
        console.print(f"[yellow]substitution:[/yellow] {note}", soft_wrap=True, highlight=False)


def render_datasets(console: Console) -> None:
    """Each dataset's pinned hub source: repository, split, commit (12 characters), the split's declared
    row count and the files it is read from."""
    from evalclient.tasks import all_tasks

    table = Table(title="datasets")
    for header in ("name", "hub source", "split", "revision", "rows", "files", "requests"):
        table.add_column(header, overflow="fold", no_wrap=header in ("name", "revision", "rows", "files"))
    for task in all_tasks():
        source = task.source
        hub = source.path + (f" ({source.config})" if source.config else "")
        files = source.files_of()
        rows = source.rows_of()
        table.add_row(
            task.name,
            hub,
            source.split,
            source.revision[:12],
            "—" if rows is None else f"{rows:,}",
            (files[0] + (f" (+{len(files) - 1})" if len(files) > 1 else ""))
            if files
            else "(read by the task)",
            ", ".join(sorted(str(k) for k in task.request_kinds)) or "—",
        )
    console.print(table)
