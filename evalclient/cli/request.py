"""The typed run request `run`, `eval-all` and `demo` build, and its assembly into a sweep: the plan, the
runner's options, the run under the signal handling, the summary and the reports."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from evalclient.cli.common import config_of, err, out
from evalclient.cli.gpus import gpu_choice, ray_gpus
from evalclient.cli.report import try_reports
from evalclient.cli.selection import Selection, plan_for
from evalclient.cli.signals import with_signals
from evalclient.config import Config
from evalclient.errors import UsageError

if TYPE_CHECKING:
    from evalclient.planning.plan import Plan
    from evalclient.planning.slots import GpuPool
    from evalclient.sweep.runner import RunOptions, RunSummary


@dataclass(frozen=True)
class RunRequest:
    """A sweep to run: `run`'s options (None: the sweep's), as `run`, `eval-all` or `demo` set them."""

    selection: Selection
    gpus: str = "auto"
    output: Path | None = None
    endpoint: str | None = None
    data_dir: Path | None = None
    data_file: Path | None = None
    concurrency: int | None = None
    seed: int | None = None
    resume: bool = True
    """False: --no-resume."""
    repeat_subset: int = 0
    model_cache: Path | None = None
    backend: str = "local"
    ray_address: str | None = None
    quiet: bool = False
    ready_timeout_s: float | None = None
    """No option: `demo` sets it; None: sweep.yaml's."""
    local_simulator: bool = False
    """No option: `demo` sets it when it runs the simulator as a local process."""
    mount_model_cache: bool = True
    """No option: `demo` clears it (the simulator needs no weights)."""


def run_selected(ctx: click.Context, request: RunRequest, *, exit_on_failure: bool = True) -> int:
    """Run the request; the number of combinations not complete (exit code 1 unless told not to)."""
    config = config_of(ctx)
    request, note = engine_for_endpoint(config, request)
    plan = plan_for(config, request.selection, endpoint=request.endpoint)
    options = _run_options(config, plan, request)
    failed = _execute(config, plan, options, quiet=request.quiet, notes=(note,) if note else ())
    if failed and exit_on_failure:
        sys.exit(1)
    return failed


def engine_for_endpoint(config: Config, request: RunRequest) -> tuple[RunRequest, str | None]:
    """With `--endpoint` and no `--engine`: the request spoken as the engine the server's answers name, and a
    line saying what was identified (or that nothing was, and the sweep's engine is kept)."""
    if not request.endpoint or request.selection.engine:
        return request, None
    from evalclient.deploy.endpoint import IDENTITY_PATHS, identify_engine

    found = asyncio.run(identify_engine(request.endpoint))
    if found is None:
        kept = config.sweep.engine.kind
        asked = ", ".join(IDENTITY_PATHS)
        return request, (
            f"endpoint {request.endpoint}: no engine identified from {asked}; spoken to as {kept} "
            "(the sweep's engine; --engine chooses another)"
        )
    selection = replace(request.selection, engine=found.engine)
    line = f"endpoint {request.endpoint}: identified {found.engine} ({found.evidence})"
    return replace(request, selection=selection), line


def _run_options(config: Config, plan: Plan, request: RunRequest) -> RunOptions:
    """The runner's options: the request's, else sweep.yaml's."""
    from evalclient.deploy.model_cache import resolve_model_cache
    from evalclient.sweep.runner import RunOptions

    sweep = config.sweep
    mounts_cache = not request.endpoint and request.mount_model_cache
    gpus, virtual = _gpus(request)
    return RunOptions(
        output=request.output or Path(sweep.output),
        endpoint=request.endpoint,
        gpus=gpus,
        virtual_gpus=virtual,
        data_dir=request.data_dir,
        data_files=_data_files(plan, request.data_file),
        seed=request.seed or sweep.seed,
        concurrency=request.concurrency or _fixed(sweep.client.concurrency),
        request_timeout_s=sweep.client.request_timeout_s,
        max_retries=sweep.client.max_retries,
        ready_timeout_s=request.ready_timeout_s or sweep.ready_timeout_s,
        resume=request.resume,
        local_simulator=request.local_simulator,
        memory_limit=sweep.engine.memory_limit,
        repeat_subset=request.repeat_subset,
        model_cache=resolve_model_cache(request.model_cache) if mounts_cache else None,
        backend=request.backend,
        ray_address=request.ray_address,
    )


def _gpus(request: RunRequest) -> tuple[tuple[int, ...], GpuPool | None]:
    """(this host's GPU indices, stand-in or Ray pool) for the request's --gpus and --backend."""
    if request.backend == "ray":
        if request.endpoint:
            raise UsageError("--endpoint and --backend ray exclude each other", "drop one of them")
        return (), ray_gpus(request.gpus or "auto")
    return ((), None) if request.endpoint else gpu_choice(request.gpus or "auto")


def _fixed(concurrency: int | str) -> int | None:
    """sweep.yaml's concurrency: a number, or None for `auto`."""
    return concurrency if isinstance(concurrency, int) else None


def _data_files(plan: Plan, data_file: Path | None) -> dict[str, Path]:
    if data_file is None:
        return {}
    names = {job.name for d in plan.deployments for job in d.datasets}
    if len(names) != 1:
        raise UsageError(
            f"--data-file needs exactly one dataset, but {len(names)} are selected",
            "pass --datasets NAME, or use --data-dir with one <dataset>.jsonl file each",
        )
    return {names.pop(): data_file}


def _execute(
    config: Config, plan: Plan, options: RunOptions, *, quiet: bool, notes: tuple[str, ...] = ()
) -> int:
    """Run the plan and print the summary (after the run's first line, `notes`); the number of combinations
    not complete (each listed)."""
    from evalclient.report import render_summary, summary_rows
    from evalclient.results.lock import RunLock
    from evalclient.sweep.runner import EvaluationRunner
    from evalclient.sweep.view import SweepView

    view = SweepView(enabled=not quiet, console=err)
    if options.backend == "ray":
        from evalclient.cluster.ray_runner import RayRunner

        runner: EvaluationRunner = RayRunner(config, plan, options, view)
    else:
        runner = EvaluationRunner(config, plan, options, view)
    with RunLock(runner.results.base_dir, runner.run_id):
        runner.prepare()  # an unreachable Docker engine is a one-line error before any work
        err.print(
            f"run {runner.run_id}: {plan.combinations} combinations in {len(plan.deployments)} deployments "
            f"→ {options.output}"
        )
        for line in notes:
            err.print(line, soft_wrap=True, highlight=False)
        for note in plan.notes():
            err.print(f"[yellow]datasets:[/yellow] {note}", soft_wrap=True)
        summary = asyncio.run(with_signals(runner.run()))
    ran = {(o.model, o.preset, o.dataset) for o in summary.outcomes if o.metrics_file}
    stored = list(runner.results.iter_combinations())
    render_summary(summary_rows([r for r in stored if r.key in ran]), out)
    report_failure = try_reports(config, runner.results.base_dir)
    _list_failed(summary)
    if report_failure is not None:
        raise report_failure
    return len(summary.failed)


def _list_failed(summary: RunSummary) -> None:
    """One line for each combination not complete, with the first line of its error."""
    if summary.failed:
        err.print(f"[red]{len(summary.failed)} combination(s) not complete:[/red]")
        for outcome in summary.failed:
            first = (outcome.error or "").splitlines()[0] if outcome.error else ""
            where = f"{outcome.model}/{outcome.preset}/{outcome.dataset}"
            err.print(f"  {where} {outcome.status}: {first}", soft_wrap=True, highlight=False)
