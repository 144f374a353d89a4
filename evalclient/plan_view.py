"""Renders plans and configuration as tables for `plan`, `models list`, `presets show`, `datasets list`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evalclient.config import Config, ModelSpec, Preset
from evalclient.engines import get_adapter
from evalclient.engines.base import EngineAdapter
from evalclient.hardware import Gpu, deployment_fit, gpus_of
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning import DeploymentPlan, Plan


def render_plan(plan: Plan, console: Console, probe: GpuProbe | None = None) -> None:
    """Deployments with flags and their fit on each GPU (fp8 support, memory), then the totals."""
    from evalclient.monitor import probe_gpus

    probe = probe or probe_gpus()
    gpus = gpus_of(probe)
    adapter = get_adapter(plan.engine)
    table = Table(title=f"plan: engine {plan.engine}, image {plan.image or adapter.default_image}")
    for header in ("#", "model", "preset", "hub id", "datasets (samples)", "weights", "GPU fit"):
        table.add_column(header)
    notes: list[str] = []
    unfit: list[str] = []
    fit_notes: list[str] = []
    for number, dep in enumerate(plan.deployments, 1):
        spec = adapter.launch_spec(dep.model, dep.preset, port=0, image=plan.image)
        notes.extend(spec.substitutions)
        jobs = ", ".join(f"{j.title}: {j.label}" for j in dep.datasets)
        weights = dep.weights_gb(spec.quantize)
        table.add_row(
            str(number),
            dep.model.key,
            dep.preset.name,
            dep.model.hub_id,
            jobs,
            f"~{weights:.0f} GB",
            _fit(adapter, dep, gpus, unfit, fit_notes),
        )
    console.print(table)
    for note in dict.fromkeys(notes):
        console.print(f"[yellow]substitution:[/yellow] {note}", soft_wrap=True)
    for note in plan.notes():
        console.print(f"[yellow]samples:[/yellow] {note}", soft_wrap=True)
    for note in dict.fromkeys(fit_notes):
        console.print(f"[yellow]GPU:[/yellow] {note}", soft_wrap=True, highlight=False)
    for line in unfit:
        console.print(f"[red]✗[/red] {line}", soft_wrap=True, highlight=False)
    unserved = _unserved(plan)
    if unserved:
        console.print(f"[red]{plan.engine} cannot serve:[/red] {unserved}", soft_wrap=True)
    gpu_line = (
        f"{probe.count} GPU(s): {', '.join(probe.names)}"
        if probe.count
        else f"no GPU visible ({probe.reason})"
    )
    console.print(
        f"{_count(plan.combinations, 'combination')} in {_count(len(plan.deployments), 'deployment')}, "
        f"{_samples(plan.requests)}; {gpu_line}"
    )
    console.print(
        f"estimated time: ~{_duration(plan.estimated_minutes())} at the seed plan's 1.5 min per "
        "combination, plus model start-up per deployment"
    )


def _unserved(plan: Plan) -> str:
    """Datasets whose request kinds the engine cannot serve, with the kinds."""
    kinds = get_adapter(plan.engine).request_kinds
    names = dict.fromkeys(job.name for d in plan.deployments for job in d.datasets)
    missing = {n: plan.deployments[0].job(n).spec.request_kinds - kinds for n in names}
    return ", ".join(f"{n} ({', '.join(sorted(map(str, m)))})" for n, m in missing.items() if m)


def _samples(count: int | None) -> str:
    return "whole splits of some datasets" if count is None else _count(count, "sample")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _duration(minutes: float) -> str:
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min"


def _fit(
    adapter: EngineAdapter, deployment: DeploymentPlan, gpus: list[Gpu], unfit: list[str], notes: list[str]
) -> str:
    """The table cell (one verdict per GPU); reasons of deployments that cannot run go to `unfit`."""
    if not gpus:
        return "unknown (no GPU)"
    cells = []
    for gpu in gpus:
        fit = deployment_fit(adapter, deployment, gpu)
        notes.extend(fit.notes)
        verdict = fit.summary if fit.runs else "cannot run"
        cells.append(f"GPU {gpu.index}: {verdict}" if len(gpus) > 1 else verdict)
        if not fit.runs:
            unfit.append(f"{deployment.key} {fit.summary}")
    return "; ".join(cells)


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
    spec = get_adapter(engine).launch_spec(model, preset, port=8080)
    console.print(f"{engine} flags for {model.key}: {spec.command_line}", soft_wrap=True, highlight=False)
    for note in spec.substitutions:
        console.print(f"[yellow]substitution:[/yellow] {note}", soft_wrap=True)


def render_datasets(console: Console) -> None:
    from evalclient.tasks import all_tasks

    table = Table(title="datasets")
    for header in ("name", "family", "hub source", "split", "revision", "requests", "implemented"):
        table.add_column(header)
    for task in all_tasks():
        source = task.source
        hub = source.path + (f" ({source.config})" if source.config else "")
        table.add_row(
            task.name,
            task.family,
            hub,
            source.split,
            source.revision,
            ", ".join(sorted(str(k) for k in task.request_kinds)) or "—",
            "yes" if task.implemented else "not yet",
        )
    console.print(table)
