"""The `evalclient` command line: parse, build config, call into the library, map errors to exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from evalclient import __version__
from evalclient.config import Config, SandboxSettings, load_config, resolve_names
from evalclient.errors import EvalClientError, ResultsError, UsageError, first_line

if TYPE_CHECKING:
    from evalclient.planning.plan import Plan
    from evalclient.planning.slots import GpuPool
    from evalclient.sweep.runner import RunOptions

GPUS_HELP = (
    "GPUs the sweep may use: 0,1 | auto (every visible GPU) | none | virtual:N[xGB][@CC] (stand-ins, e.g. "
    "virtual:8x80@9.0: deployments sized and scheduled on them, no device given to the containers)."
)
BACKEND = click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where deployments run: this host's GPUs, or the nodes of a Ray cluster (pip install "
    "'evalclient[ray]'; --gpus is then auto or virtual[:xGB@CC], Ray assigns the GPUs).",
)
RAY_ADDRESS = click.option(
    "--ray-address", help="Ray cluster to join with --backend ray, HOST:PORT (default: this host's cluster)."
)
DEMO_MODELS = ("qwen2.5_8b", "qwen3_8b")
DEMO_DATASETS = ("gsm8k", "arc_challenge:generative", "hellaswag", "bfcl:native")
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)


class _Group(click.Group):
    """Maps EvalClientError to one line on stderr and its exit code; Ctrl-C to 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvalClientError as exc:
            if ctx.obj and ctx.obj.get("debug"):
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
    ctx.obj = {"config_dir": config_dir, "debug": debug}


def _config(ctx: click.Context) -> Config:
    if "config" not in ctx.obj:
        ctx.obj["config"] = load_config(ctx.obj["config_dir"])
    config: Config = ctx.obj["config"]
    return config


def _selection(
    config: Config, models: str | None, presets: str | None, datasets: str | None
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    from evalclient.tasks import task_names
    from evalclient.tasks.registry import variant_names

    selectors = tuple(d.strip() for d in (datasets or "").split(",") if d.strip())
    names = ",".join(s.split(":")[0] for s in selectors) if datasets is not None else None
    valid = [*task_names(), *variant_names()]
    checked = resolve_names(names, config.sweep.datasets if datasets is None else valid, "dataset")
    return (
        resolve_names(models, config.sweep.models if models is None else config.models, "model"),
        resolve_names(presets, config.sweep.presets if presets is None else config.presets, "preset"),
        selectors if datasets is not None and datasets.strip() not in ("", "all") else checked,
    )


def _require_implemented(datasets: Sequence[str]) -> None:
    from evalclient.tasks import all_tasks, get_task

    missing = [d for d in (s.split(":")[0] for s in datasets) if not get_task(d).implemented]
    if missing:
        ready = [t.name for t in all_tasks() if t.implemented]
        raise UsageError(
            f"dataset(s) not implemented yet: {', '.join(missing)}", f"implemented: {', '.join(ready)}"
        )


def _sandbox_settings(ctx: click.Context) -> SandboxSettings:
    """sweep.yaml's sandbox section; the defaults where no configuration folder was given or found."""
    from evalclient.errors import ConfigError

    try:
        return _config(ctx).sweep.sandbox
    except ConfigError:
        if ctx.obj["config_dir"] is not None:
            raise
        return SandboxSettings()


def _gpu_choice(value: str) -> tuple[tuple[int, ...], GpuPool | None]:
    """--gpus of a sweep: real GPU indices, or a virtual pool."""
    from evalclient.planning.slots import virtual_pool

    pool = virtual_pool(value)
    return ((), pool) if pool is not None else (_parse_gpus(value), None)


def _parse_gpus(value: str) -> tuple[int, ...]:
    if value == "none":
        return ()
    if value == "auto":
        from evalclient.monitor import probe_gpus

        return tuple(range(probe_gpus().count))
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(
            f"--gpus '{value}' is not a list of GPU indices", "use e.g. --gpus 0,1, or 'auto' or 'none'"
        ) from None


class SamplesType(click.ParamType):  # type: ignore[type-arg]
    """A positive sample count, or "all" for the whole split."""

    name = "N|all"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int):
            return value
        if value == "all":
            return "all"
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            self.fail(f"{value!r} is not a positive number or 'all'", param, ctx)
        return count


SAMPLES = SamplesType()
REPEAT_HELP = (
    "Ask N answered samples of each dataset again on the same deployment at another concurrency: the noise "
    "floor the report reads preset differences against."
)
SAMPLES_HELP = "Samples per dataset (default: the sweep's cap); 'all' for the whole split."
MODEL_CACHE = click.option(
    "--model-cache",
    type=click.Path(path_type=Path, file_okay=False),
    help="Hugging Face cache mounted into every engine container (default: $HF_HOME, else "
    "~/.cache/huggingface).",
)


def _engines() -> click.Choice:  # type: ignore[type-arg]
    from evalclient.engines import engine_kinds

    return click.Choice(engine_kinds())


def _selectors(function: Any) -> Any:
    for option in reversed(
        (
            click.option("--models", help="Comma list of model names (default: the sweep's)."),
            click.option("--presets", help="Comma list of presets (default: the sweep's)."),
            click.option(
                "--datasets",
                help="Comma list of datasets (default: the sweep's); options after colons: mmlu:0shot, "
                "arc_challenge:generative, codet5:java.",
            ),
            click.option("--samples", type=SAMPLES, help=SAMPLES_HELP),
            click.option("--engine", type=_engines(), help="Inference engine."),
            click.option("--image", help="Engine image to run (default: the engine's pinned image)."),
            click.option(
                "--mc-mode",
                type=click.Choice(["auto", "loglikelihood", "generative"]),
                default="auto",
                show_default=True,
                help="Multiple-choice tasks: auto = log-likelihood where the engine serves prompt logprobs.",
            ),
        )
    ):
        function = option(function)
    return function


@cli.command()
@_selectors
@click.option("--gpus", default="auto", show_default=True, help=GPUS_HELP)
@click.option("--output", type=click.Path(path_type=Path), help="Results folder.")
@click.option("--endpoint", help="URL of a server that is already running (no container is started).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Folder of <dataset>.jsonl|json|parquet files in the hub schema (offline runs).",
)
@click.option(
    "--data-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="One JSON/JSONL/Parquet file in the hub schema for the one dataset selected.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Requests in flight per server (default: what the server takes at once, backing off on overload).",
)
@click.option("--seed", type=int, help="Sampling seed.")
@click.option("--no-resume", is_flag=True, help="Re-run combinations that are already complete.")
@click.option("--repeat-subset", type=click.IntRange(min=0), default=0, metavar="N", help=REPEAT_HELP)
@MODEL_CACHE
@BACKEND
@RAY_ADDRESS
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def run(ctx: click.Context, /, **opts: Any) -> None:
    """Evaluate the selected models x presets x datasets."""
    _run_selected(ctx, opts)


@cli.command("eval-all")
@click.option("--samples", type=SAMPLES, help=SAMPLES_HELP)
@click.option("--output", type=click.Path(path_type=Path), help="Results folder.")
@click.option(
    "--repeat-subset",
    type=click.IntRange(min=0),
    metavar="N",
    help=REPEAT_HELP + " Default: repeat_subset of sweep.yaml.",
)
@MODEL_CACHE
@click.option("--gpus", help="GPU indices the sweep may use, e.g. 0,1,2,3 (default: every visible GPU).")
@BACKEND
@RAY_ADDRESS
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def eval_all(
    ctx: click.Context,
    samples: int | str | None,
    output: Path | None,
    repeat_subset: int | None,
    model_cache: Path | None,
    gpus: str | None,
    backend: str,
    ray_address: str | None,
    quiet: bool,
) -> None:
    """Run the whole default sweep of presets/sweep.yaml on this GPU host (or a Ray cluster's GPUs)."""
    from evalclient.tasks import get_task

    config = _config(ctx)
    chosen = _eval_all_gpus(gpus) if backend == "local" else gpus or "auto"
    ready = [d for d in config.sweep.datasets if get_task(d).implemented]
    skipped = [d for d in config.sweep.datasets if d not in ready]
    if skipped:
        err.print(f"not implemented yet, skipped: {', '.join(skipped)}")
    opts = {
        "samples": samples,
        "output": output,
        "quiet": quiet,
        "datasets": ",".join(ready),
        "gpus": chosen,
        "repeat_subset": config.sweep.repeat_subset if repeat_subset is None else repeat_subset,
        "model_cache": model_cache,
        "backend": backend,
        "ray_address": ray_address,
    }
    failed = _run_selected(ctx, opts, exit_on_failure=False)
    from evalclient.judge.phase import JUDGED_DATASETS

    if any(d in ready for d in JUDGED_DATASETS):
        from evalclient.judge import largest_model

        judge = largest_model(config, config.sweep.models)
        err.print(f"judge phase: {judge.key}, the largest model of the sweep (a self-judge)")
        judge_opts = {
            "output": output,
            "judge_model": judge.key,
            "gpus": opts["gpus"] if backend == "local" else "auto",  # the judge runs on this host
            "quiet": quiet,
            "model_cache": model_cache,
        }
        try:
            failed += _judge(ctx, judge_opts)
        except EvalClientError as exc:  # the sweep's results stand; the judge phase can be rerun alone
            err.print(f"[red]judge phase:[/red] {exc}; rerun with `evalclient judge`", soft_wrap=True)
            failed += 1
    if failed:
        sys.exit(1)


def _eval_all_gpus(gpus: str | None) -> str:
    """eval-all on this host: it must have GPUs, and --gpus names some of them."""
    from evalclient.host.preflight import require_gpu_host

    visible = require_gpu_host()
    chosen = _parse_gpus(gpus) if gpus else visible
    missing = [g for g in chosen if g not in visible]
    if missing:
        raise UsageError(
            f"--gpus names GPU(s) {', '.join(map(str, missing))}, not on this host",
            f"this host has GPUs {', '.join(map(str, visible))}",
        )
    return ",".join(str(g) for g in chosen)


def _ray_gpus(value: str) -> GpuPool | None:
    """--gpus with --backend ray: None for the nodes' real GPUs, a pool for stand-ins (its reference GPU
    gives their memory and compute capability)."""
    from evalclient.planning.slots import GpuPool, virtual_pool

    if value == "auto":
        return None
    if value == "virtual":
        return GpuPool(virtual=True)
    if value.startswith("virtual:"):
        return virtual_pool(value)
    raise UsageError(
        f"--gpus '{value}' with --backend ray: Ray assigns the GPUs of each node",
        "pass --gpus auto (the nodes' GPUs) or virtual[:NxGB@CC] (stand-ins: no device in the containers)",
    )


def _run_selected(ctx: click.Context, opts: dict[str, Any], *, exit_on_failure: bool = True) -> int:
    """Run the selection; the number of combinations not complete (exit code 1 unless told not to)."""
    from evalclient.host.model_cache import resolve_model_cache
    from evalclient.sweep.runner import RunOptions

    config = _config(ctx)
    plan = _plan_from(config, opts, require_implemented=True)
    mounts_cache = not opts.get("endpoint") and opts.get("mount_model_cache", True)
    backend = opts.get("backend") or "local"
    gpus: tuple[int, ...] = ()
    if backend == "ray":
        if opts.get("endpoint"):
            raise UsageError("--endpoint and --backend ray exclude each other", "drop one of them")
        virtual = _ray_gpus(opts.get("gpus") or "auto")
    else:
        gpus, virtual = ((), None) if opts.get("endpoint") else _gpu_choice(opts.get("gpus") or "auto")
    options = RunOptions(
        output=opts.get("output") or Path(config.sweep.output),
        endpoint=opts.get("endpoint"),
        gpus=gpus,
        virtual_gpus=virtual,
        data_dir=opts.get("data_dir"),
        data_files=_data_files(plan, opts.get("data_file")),
        seed=opts.get("seed") or config.sweep.seed,
        concurrency=opts.get("concurrency") or _fixed(config.sweep.client.concurrency),
        request_timeout_s=config.sweep.client.request_timeout_s,
        max_retries=config.sweep.client.max_retries,
        ready_timeout_s=opts.get("ready_timeout_s") or config.sweep.ready_timeout_s,
        resume=not opts.get("no_resume"),
        local_simulator=bool(opts.get("local_simulator")),
        memory_limit=config.sweep.engine.memory_limit,
        repeat_subset=opts.get("repeat_subset") or 0,
        model_cache=resolve_model_cache(opts.get("model_cache")) if mounts_cache else None,
        backend=backend,
        ray_address=opts.get("ray_address"),
    )
    failed = _execute(config, plan, options, quiet=bool(opts.get("quiet")))
    if failed and exit_on_failure:
        sys.exit(1)
    return failed


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


def _execute(config: Config, plan: Plan, options: RunOptions, *, quiet: bool) -> int:
    """Run the plan and print the summary; the number of combinations not complete (each listed)."""
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
        for note in plan.notes():
            err.print(f"[yellow]datasets:[/yellow] {note}", soft_wrap=True)
        summary = asyncio.run(_with_signals(runner.run()))
    ran = {(o.model, o.preset, o.dataset) for o in summary.outcomes if o.metrics_file}
    stored = list(runner.results.iter_combinations())
    render_summary(summary_rows([r for r in stored if r.key in ran]), out)
    report_failure = _try_report(config, runner.results.base_dir)
    if summary.failed:
        err.print(f"[red]{len(summary.failed)} combination(s) not complete:[/red]")
        for outcome in summary.failed:
            first = (outcome.error or "").splitlines()[0] if outcome.error else ""
            where = f"{outcome.model}/{outcome.preset}/{outcome.dataset}"
            err.print(f"  {where} {outcome.status}: {first}", soft_wrap=True, highlight=False)
    if report_failure is not None:
        raise report_failure
    return len(summary.failed)


def _try_report(config: Config, base_dir: Path) -> EvalClientError | None:
    """Build the reports after a run; the error to exit with when they could not be (the results stand)."""
    from evalclient.results.disk_full import disk_full_error, full_disk_cause

    try:
        _report(config, base_dir, ())
    except Exception as exc:  # the run's results stand whatever happens here
        cause = full_disk_cause(exc)
        if cause is not None:
            return disk_full_error(base_dir, cause)
        return ResultsError(
            f"the reports could not be built ({type(exc).__name__}: {first_line(exc)}); the results stand",
            f"run `evalclient --debug report --output {base_dir}` to see why",
        )
    return None


async def _with_signals(work: Any) -> Any:
    """Run `work`, turning Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a dropped SSH session) into a
    cancellation, so every `finally` (container removal, checkpoint close) runs. A second Ctrl-C while that
    cleanup runs is answered with one line, never a traceback, and does not cut the cleanup short."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    interrupts = 0

    def hang_up() -> None:
        _detach_from_terminal()
        task.cancel()

    def interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            task.cancel()
        elif interrupts == 2:
            err.print("still cleaning up (removing containers, closing checkpoints); it ends by itself")

    handlers = {signal.SIGTERM: task.cancel, signal.SIGHUP: hang_up, signal.SIGINT: interrupt}
    for signum, handler in handlers.items():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, handler)
    try:
        return await task
    except asyncio.CancelledError:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # leaving: no Ctrl-C may interrupt the exit message
        raise KeyboardInterrupt from None
    finally:
        for signum in handlers:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


def _detach_from_terminal() -> None:
    """After a hang-up the terminal is gone and writing to it fails: send output to /dev/null instead
    (the run's log files keep everything)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


@cli.command()
@_selectors
@click.option("--gpus", default="auto", show_default=True, help=GPUS_HELP)
@BACKEND
@RAY_ADDRESS
@click.option("--json", "as_json", is_flag=True, help="Print the whole plan as one JSON object.")
@click.pass_context
def plan(
    ctx: click.Context, /, gpus: str, backend: str, ray_address: str | None, as_json: bool, **opts: Any
) -> None:
    """Dry run: combinations, deployments, the engine image and serving path of each, flags, substitutions
    and refusals, the GPUs each needs, the schedule on the GPUs and the estimated wall time; starts nothing.
    With --backend ray: where each deployment could run on the cluster's nodes."""
    from evalclient.monitor import probe_gpus
    from evalclient.planning.slots import real_pool
    from evalclient.planning.view import render_plan

    selected = _plan_from(_config(ctx), opts, require_implemented=False)
    if as_json and backend == "ray":
        raise UsageError("--json plans for this host's GPUs", "drop --backend ray, or --json")
    if backend == "ray":
        from evalclient.cluster.placement_view import render_cluster_plan
        from evalclient.cluster.ray_cluster import cluster_nodes, connect

        connect(ray_address)
        render_cluster_plan(selected, out, cluster_nodes(_ray_gpus(gpus)))
        return
    indices, pool = _gpu_choice(gpus)
    probe = None
    if pool is None:
        probe = probe_gpus()
        pool = real_pool(tuple(range(probe.count)) if gpus == "auto" else indices, probe)
    if as_json:
        from evalclient.planning.json_view import plan_document

        click.echo(json.dumps(plan_document(selected, pool), indent=2))
        return
    render_plan(selected, out, pool, probe)


def _plan_from(config: Config, opts: dict[str, Any], *, require_implemented: bool) -> Plan:
    """The plan for the selectors in `opts` (names checked; the sweep's image unless another engine)."""
    from evalclient.planning.plan import build_plan, routes_for

    models, presets, datasets = _selection(
        config, opts.get("models"), opts.get("presets"), opts.get("datasets")
    )
    if require_implemented:
        _require_implemented(datasets)
    engine = opts.get("engine") or config.sweep.engine.kind
    image = opts.get("image") or (config.sweep.engine.image if engine == config.sweep.engine.kind else None)
    chosen = opts.get("image") or opts.get("endpoint")  # an image or a server of the user's: no routing
    return build_plan(
        config,
        models=models,
        presets=presets,
        datasets=datasets,
        samples=opts.get("samples"),
        engine=engine,
        image=image,
        mc_mode=opts.get("mc_mode") or "auto",
        routes=routes_for(config, engine, chosen),
        auto_route=not chosen,
        endpoint=opts.get("endpoint"),
    )


@cli.command()
@click.option("--endpoint", help="URL of the server to probe.")
@click.option("--models", help="Start a deployment of this model for the probe (with --presets).")
@click.option("--presets", help="The preset of that deployment (and of the default concurrency).")
@click.option("--engine", type=_engines(), help="Engine of the server (protocol, ignore_eos).")
@click.option("--image", help="Engine image for a deployment started for the probe.")
@click.option(
    "--gpus", default="auto", show_default=True, help="GPUs for that deployment: 0,1 | auto | none."
)
@MODEL_CACHE
@click.option("--model-name", help="Model name to send (default: what the server reports).")
@click.option("--concurrency", help="Comma list: one step per concurrency (default: what the server takes).")
@click.option("--rate", help="Comma list of request rates per second (Poisson arrivals), one step each.")
@click.option("--requests", type=click.IntRange(min=1), help="Requests per step (default 200).")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Seconds per step at most.")
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Requests per step not counted.",
)
@click.option("--prompt-words", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--output-tokens", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--dataset", help="Draw prompts from this dataset's chat requests instead.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--slo", help="Latency targets for goodput: ttft_ms=500,itl_ms=50,e2e_ms=10000.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the figures as JSON (and a plot).",
)
@click.pass_context
def load(ctx: click.Context, /, **opts: Any) -> None:
    """Performance probe of a TGI or OpenAI-compatible server: latency percentiles, throughput, goodput."""
    from evalclient.load.command import load_command

    if opts.get("models"):
        opts["gpus"] = _parse_gpus(opts.get("gpus") or "auto")
    load_command(_config(ctx), opts, out, err)


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sim(args: tuple[str, ...]) -> None:
    """Start the TGI simulator (takes TGI's launcher flags; --help lists them)."""
    from evalclient.sim import main as sim_main

    sys.exit(sim_main(list(args)))


@cli.command()
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
    import json

    from evalclient.sandbox import choose_sandbox
    from evalclient.tasks.context import ScoreContext
    from evalclient.tasks.offline_scoring import score_predictions, write_verdicts

    _require_implemented([dataset])
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


@cli.command()
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
    config = _config(ctx)
    _report(config, output or Path(config.sweep.output), compare)


def _report(config: Config, base_dir: Path, compare: Sequence[Path]) -> None:
    """Build every report of `base_dir`, print its key tables and where the files are."""
    from evalclient.report import ModelInfo, build_reports
    from evalclient.report.terminal import render

    models = {k: ModelInfo(m.family, m.size_class, m.params_b) for k, m in config.models.items()}
    built = build_reports(base_dir, models, compare)
    render(built.sections, out)
    err.print(
        f"reports: {built.html} and {base_dir / 'reports'}/*/ ({len(built.files)} files)", soft_wrap=True
    )


@cli.command()
@click.option("--output", type=click.Path(path_type=Path), help="Results folder (default: the sweep's).")
@click.option(
    "--judge-endpoint",
    help="URL of an OpenAI-compatible server to judge with (key: $EVALCLIENT_JUDGE_API_KEY).",
)
@click.option(
    "--judge-endpoint-model", help="Model name to send to the endpoint (default: the first it lists)."
)
@click.option(
    "--judge-model", help="A models.yaml model to deploy as the judge (default: the sweep's largest)."
)
@click.option("--judge-preset", help="Preset of the judge deployment (default: the sweep's first).")
@click.option("--engine", type=_engines(), help="Engine of the judge deployment.")
@click.option("--image", help="Engine image of the judge deployment.")
@click.option(
    "--gpus", default="auto", show_default=True, help="GPUs for the judge deployment: 0,1 | auto | none."
)
@click.option("--models", help="Only the answers of these models (comma list).")
@click.option("--presets", help="Only the answers served with these presets (comma list).")
@click.option(
    "--datasets", default="mt_bench,alpaca_eval", show_default=True, help="Judged datasets to grade."
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Folder of <dataset>.jsonl|json|parquet rows (and the judge data files) for offline runs.",
)
@click.option(
    "--mt-bench-references",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="FastChat's data/mt_bench/reference_answer/gpt-4.jsonl (to grade math, reasoning, coding).",
)
@click.option(
    "--alpaca-gamed",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="AlpacaEval's df_gamed.csv (its length-controlled win rate's gamed baselines and instruction "
    "difficulty).",
)
@click.option("--concurrency", type=click.IntRange(min=1), help="Judge requests in flight.")
@MODEL_CACHE
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def judge(ctx: click.Context, /, **opts: Any) -> None:
    """Grade the stored mt_bench and alpaca_eval answers with a judge (resumes: nothing is judged twice).

    The judge is an endpoint (--judge-endpoint), a models.yaml model deployed for it (--judge-model), or by
    default the largest model of the sweep (a self-judge: not comparable to GPT-4-judged leaderboards)."""
    if _judge(ctx, opts):
        sys.exit(1)


def _judge(ctx: click.Context, opts: dict[str, Any]) -> int:
    """The judge phase on a results folder; the number of combinations not fully judged."""
    from evalclient.host.model_cache import resolve_model_cache
    from evalclient.judge import (
        JUDGED_DATASETS,
        JudgeData,
        JudgeSettings,
        deployment_judge,
        endpoint_judge,
        judge_results,
        judged_records,
        largest_model,
    )
    from evalclient.results import ResultsOrganizer
    from evalclient.results.lock import RunLock

    config = _config(ctx)
    if opts.get("judge_endpoint") and opts.get("judge_model"):
        raise UsageError("--judge-endpoint and --judge-model exclude each other", "pass one judge")
    datasets = [
        d.strip() for d in (opts.get("datasets") or ",".join(JUDGED_DATASETS)).split(",") if d.strip()
    ]
    unjudged = [d for d in datasets if d not in JUDGED_DATASETS]
    if unjudged:
        raise UsageError(
            f"not judged datasets: {', '.join(unjudged)}", f"judged: {', '.join(JUDGED_DATASETS)}"
        )
    engine = opts.get("engine") or config.sweep.engine.kind
    image = opts.get("image") or (config.sweep.engine.image if engine == config.sweep.engine.kind else None)
    model = opts.get("judge_model")
    if not opts.get("judge_endpoint") and not model:
        model = largest_model(config, config.sweep.models).key
    settings = JudgeSettings(
        endpoint=opts.get("judge_endpoint"),
        endpoint_model=opts.get("judge_endpoint_model"),
        model=model,
        preset=opts.get("judge_preset") or config.sweep.presets[0],
        engine=engine,
        image=image,
        gpus=() if opts.get("judge_endpoint") else _parse_gpus(opts.get("gpus") or "auto"),
        local_simulator=bool(opts.get("local_simulator")),
        concurrency=opts.get("concurrency"),
        request_timeout_s=config.sweep.client.request_timeout_s,
        max_retries=config.sweep.client.max_retries,
        ready_timeout_s=config.sweep.ready_timeout_s,
        memory_limit=config.sweep.engine.memory_limit,
        model_cache=None
        if opts.get("judge_endpoint") or opts.get("local_simulator")
        else resolve_model_cache(opts.get("model_cache")),
    )
    results = ResultsOrganizer(opts.get("output") or Path(config.sweep.output))
    run_id = "judge-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    models = opts.get("models")
    presets = opts.get("presets")
    records = judged_records(
        results,
        models=[m.strip() for m in models.split(",")] if models else None,
        presets=[p.strip() for p in presets.split(",")] if presets else None,
        datasets=datasets,
    )
    if not records:
        raise UsageError(
            f"no stored mt_bench or alpaca_eval answers to judge in {results.base_dir}",
            "run the sweep with those datasets first, or pass --output with its results folder",
        )
    if settings.endpoint:
        identity, opener = endpoint_judge(settings)
    else:
        identity, opener = deployment_judge(config, settings, results, run_id, config.sweep.models)
    data = JudgeData(
        data_dir=opts.get("data_dir"),
        cache_dir=results.datasets_cache,
        references=opts.get("mt_bench_references"),
        gamed=opts.get("alpaca_gamed"),
    )
    quiet = bool(opts.get("quiet"))
    with RunLock(results.base_dir, run_id):
        err.print(f"judge {identity['name']}: {len(records)} combination(s) in {results.base_dir}")
        if identity.get("note"):
            err.print(f"[yellow]{identity['note']}[/yellow]")
        summary = asyncio.run(
            _with_signals(
                judge_results(
                    results,
                    records,
                    identity,
                    opener,
                    data,
                    seed=config.sweep.seed,
                    note=(lambda line: None) if quiet else (lambda line: err.print(line, soft_wrap=True)),
                )
            )
        )
        try:
            _report(config, results.base_dir, ())
        except Exception as exc:  # the judgments stand whatever happens here
            err.print(
                f"[yellow]the reports could not be rebuilt ({type(exc).__name__}: {exc})", soft_wrap=True
            )
    err.print(f"judge requests sent: {summary.sent}; judgments reused: {summary.reused}")
    for outcome in summary.failed:
        err.print(f"[red]  {outcome.key} {outcome.status}:[/red] {outcome.message}", soft_wrap=True)
    return len(summary.failed)


@cli.command()
@click.option("--models", help="Comma list of model names (default: the sweep's).")
@click.option("--presets", help="Comma list of presets (default: the sweep's).")
@click.option("--engine", type=_engines(), help="Inference engine (default: the sweep's).")
@click.option("--image", help="Engine image (default: the sweep's, else the engine's pinned image).")
@MODEL_CACHE
@click.pass_context
def doctor(ctx: click.Context, /, **opts: Any) -> None:
    """Check this GPU host: Docker, NVIDIA runtime or CDI, GPUs and driver, the image's CUDA, disk for the
    weights, the HF token, and which deployments fit each GPU; each gap with its fix. Exit 1 if any fails."""
    from evalclient.host.doctor import gather, render, run_checks

    plan = _plan_from(_config(ctx), {**opts, "datasets": ""}, require_implemented=False)
    out.print(f"evalclient doctor: engine {plan.engine}, {len(plan.deployments)} deployment(s)")
    if render(run_checks(plan, gather(plan, opts.get("model_cache"))), out):
        sys.exit(1)


@cli.command()
@click.option("--run", "run_id", help="Only the resources of this run id (see manifest.json).")
@click.option("--all", "include_live", is_flag=True, help="Also the containers of runs that are still alive.")
def cleanup(run_id: str | None, include_live: bool) -> None:
    """Remove the containers and volumes labelled evalclient.managed, except those of live runs."""
    from evalclient.deploy.docker_engine import DockerEngine

    removed, kept = DockerEngine().cleanup(run_id, include_live=include_live)
    for item in removed:
        out.print(f"removed {item}")
    for item in kept:
        out.print(f"kept {item}: its run is still going (--all removes it too)")
    out.print(f"{len(removed)} resource(s) removed" if removed else "nothing to clean up")


@cli.command()
@click.option("--output", type=click.Path(path_type=Path), default=Path("demo_results"), show_default=True)
@click.option("--samples", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--repeat-subset", type=click.IntRange(min=0), default=4, show_default=True, metavar="N", help=REPEAT_HELP
)
@click.option(
    "--local", "force_local", is_flag=True, help="Run the simulator as a local process, not in Docker."
)
@click.option(
    "--gpus",
    default="virtual:2",
    show_default=True,
    help="Stand-in GPU slots: two simulator deployments at a time by default ('none': one at a time).",
)
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def demo(
    ctx: click.Context,
    output: Path,
    samples: int,
    repeat_subset: int,
    force_local: bool,
    gpus: str,
    quiet: bool,
) -> None:
    """2 models x 3 presets x 4 datasets against the TGI simulator (Docker if reachable, else local)."""
    from evalclient.sweep.demo import demo_data_dir, prepare_demo_engine

    if gpus != "none" and not gpus.lower().startswith("virtual:"):
        raise UsageError(
            f"--gpus {gpus}: the demo runs the simulator, which needs no GPU",
            "pass --gpus virtual:N for N deployments at a time, or --gpus none",
        )
    started = time.monotonic()
    image, local = prepare_demo_engine(force_local, err)
    opts = {
        "models": ",".join(DEMO_MODELS),
        "presets": "all",
        "datasets": ",".join(DEMO_DATASETS),
        "samples": samples,
        "engine": "tgi",
        "image": image,
        "gpus": gpus,
        "output": output,
        "data_dir": demo_data_dir(),
        "concurrency": 8,
        "ready_timeout_s": 120,
        "quiet": quiet,
        "no_resume": True,
        "local_simulator": local,
        "repeat_subset": repeat_subset,
        "mount_model_cache": False,  # the simulator needs no weights
    }
    try:
        _run_selected(ctx, opts)
    finally:
        err.print(f"demo finished in {time.monotonic() - started:.1f} s; results in {output}/")


@cli.group()
def models() -> None:
    """Inspect the models of presets/models.yaml."""


@models.command("list")
@click.pass_context
def models_list(ctx: click.Context) -> None:
    """The models, their hub ids and notes."""
    from evalclient.planning.view import render_models

    render_models(_config(ctx), out)


@cli.group()
def presets() -> None:
    """Inspect the serving presets."""


@presets.command("list")
@click.pass_context
def presets_list(ctx: click.Context) -> None:
    """The presets and what they are for."""
    for preset in _config(ctx).presets.values():
        out.print(f"[bold]{preset.name}[/bold]: {preset.description}")


@presets.command("show")
@click.argument("name")
@click.option("--engine", type=_engines(), default="tgi", show_default=True)
@click.option("--model", "model_name", default="qwen2.5_8b", show_default=True)
@click.pass_context
def presets_show(ctx: click.Context, name: str, engine: str, model_name: str) -> None:
    """A preset's knobs and the launcher flags an engine gets for it."""
    from evalclient.planning.view import render_preset

    config = _config(ctx)
    render_preset(config.preset(name), config.model(model_name), engine, out)


@cli.group()
def datasets() -> None:
    """Inspect the datasets."""


@datasets.command("fetch")
@click.option("--datasets", "names", help="Comma list of datasets (default: the sweep's).")
@click.option(
    "--output", type=click.Path(path_type=Path), help="Results folder whose cache/datasets to fill."
)
@click.pass_context
def datasets_fetch(ctx: click.Context, names: str | None, output: Path | None) -> None:
    """Download the pinned hub files of each dataset (and the judge's data) into the cache, check their rows
    against the declarations and lock their hashes, for offline runs later; one line a dataset."""
    from evalclient.judge.data import fetch_judge_files
    from evalclient.results import ResultsOrganizer
    from evalclient.tasks import task_names, variant_names
    from evalclient.tasks.fetch import fetch_dataset

    config = _config(ctx)
    valid = [*task_names(), *variant_names()]
    selected = resolve_names(names, valid if names else config.sweep.datasets, "dataset")
    cache = ResultsOrganizer(output or Path(config.sweep.output)).datasets_cache
    out.print(f"fetching {len(selected)} dataset(s) into {cache}")
    failed: list[str] = []
    for name in selected:
        fetched = fetch_dataset(name, cache)
        (err if fetched.error else out).print(fetched.line, soft_wrap=True, highlight=False, markup=False)
        if fetched.error:
            failed.append(name)
            continue
        try:
            judge_file = fetch_judge_files(name, cache)
        except EvalClientError as exc:
            failed.append(f"{name} (judge data)")
            err.print(f"✗ {name} judge data: {exc}", soft_wrap=True, highlight=False, markup=False)
            continue
        if judge_file is not None:
            out.print(f"✓ {name} judge data: {judge_file.name}", highlight=False, markup=False)
    if failed:
        err.print(f"[red]{len(failed)} failed:[/red] {', '.join(failed)}", soft_wrap=True, highlight=False)
        sys.exit(1)


@datasets.command("list")
def datasets_list() -> None:
    """The twelve datasets, their hub sources and whether they are implemented."""
    from evalclient.planning.view import render_datasets

    render_datasets(out)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="evalclient")
