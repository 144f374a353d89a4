"""The commands that run a sweep: `run` (any selection), `eval-all` (the whole default sweep, then its judge
phase) and `demo` (the simulator); each builds a `RunRequest`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from evalclient.cli.common import config_of, err
from evalclient.cli.gpus import parse_gpus
from evalclient.cli.judge import JudgeRequest, judge_phase
from evalclient.cli.options import (
    BACKEND,
    GPUS_HELP,
    MODEL_CACHE,
    QUIET,
    RAY_ADDRESS,
    REPEAT_HELP,
    SAMPLES,
    SAMPLES_HELP,
    selection_options,
)
from evalclient.cli.request import RunRequest, run_selected
from evalclient.cli.selection import Selection
from evalclient.config import Config
from evalclient.errors import EvalClientError, UsageError

DEMO_MODELS = ("qwen2.5_8b", "qwen3_8b")
DEMO_DATASETS = ("gsm8k", "arc_challenge:generative", "hellaswag", "bfcl:native")


@click.command()
@selection_options
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
@QUIET
@click.pass_context
def run(
    ctx: click.Context,
    /,
    selection: Selection,
    gpus: str,
    output: Path | None,
    endpoint: str | None,
    data_dir: Path | None,
    data_file: Path | None,
    concurrency: int | None,
    seed: int | None,
    no_resume: bool,
    repeat_subset: int,
    model_cache: Path | None,
    backend: str,
    ray_address: str | None,
    quiet: bool,
) -> None:
    """Evaluate the selected models x presets x datasets."""
    request = RunRequest(
        selection=selection,
        gpus=gpus,
        output=output,
        endpoint=endpoint,
        data_dir=data_dir,
        data_file=data_file,
        concurrency=concurrency,
        seed=seed,
        resume=not no_resume,
        repeat_subset=repeat_subset,
        model_cache=model_cache,
        backend=backend,
        ray_address=ray_address,
        quiet=quiet,
    )
    run_selected(ctx, request)


@click.command("eval-all")
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
@QUIET
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

    config = config_of(ctx)
    chosen = _eval_all_gpus(gpus) if backend == "local" else gpus or "auto"
    request = RunRequest(
        selection=Selection(datasets=",".join(config.sweep.datasets), samples=samples),
        gpus=chosen,
        output=output,
        repeat_subset=config.sweep.repeat_subset if repeat_subset is None else repeat_subset,
        model_cache=model_cache,
        backend=backend,
        ray_address=ray_address,
        quiet=quiet,
    )
    failed = run_selected(ctx, request, exit_on_failure=False)
    failed += _eval_all_judge_phase(ctx, config, request, list(config.sweep.datasets))
    if failed:
        sys.exit(1)


def _eval_all_judge_phase(ctx: click.Context, config: Config, swept: RunRequest, ready: list[str]) -> int:
    """eval-all's judge phase, where the sweep had judged datasets: the sweep's largest model judges on this
    host; the number of combinations not judged (one for a phase that failed as a whole)."""
    from evalclient.judge.phase import JUDGED_DATASETS

    if not any(d in ready for d in JUDGED_DATASETS):
        return 0
    from evalclient.judge import largest_model

    judge = largest_model(config, config.sweep.models)
    err.print(f"judge phase: {judge.key}, the largest model of the sweep (a self-judge)")
    request = JudgeRequest(
        output=swept.output,
        judge_model=judge.key,
        gpus=swept.gpus if swept.backend == "local" else "auto",  # the judge runs on this host
        quiet=swept.quiet,
        model_cache=swept.model_cache,
    )
    try:
        return judge_phase(ctx, request)
    except EvalClientError as exc:  # the sweep's results stand; the judge phase can be rerun alone
        err.print(f"[red]judge phase:[/red] {exc}; rerun with `evalclient judge`", soft_wrap=True)
        return 1


def _eval_all_gpus(gpus: str | None) -> str:
    """eval-all on this host: it must have GPUs, and --gpus names some of them."""
    from evalclient.host.preflight import require_gpu_host

    visible = require_gpu_host()
    chosen = parse_gpus(gpus) if gpus else visible
    missing = [g for g in chosen if g not in visible]
    if missing:
        raise UsageError(
            f"--gpus names GPU(s) {', '.join(map(str, missing))}, not on this host",
            f"this host has GPUs {', '.join(map(str, visible))}",
        )
    return ",".join(str(g) for g in chosen)


@click.command()
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
@QUIET
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
    selection = Selection(
        models=",".join(DEMO_MODELS),
        presets="all",
        datasets=",".join(DEMO_DATASETS),
        samples=samples,
        engine="tgi",
        image=image,
    )
    request = RunRequest(
        selection=selection,
        gpus=gpus,
        output=output,
        data_dir=demo_data_dir(),
        concurrency=8,
        resume=False,
        repeat_subset=repeat_subset,
        quiet=quiet,
        ready_timeout_s=120,
        local_simulator=local,
        mount_model_cache=False,  # the simulator needs no weights
    )
    try:
        run_selected(ctx, request)
    finally:
        err.print(f"demo finished in {time.monotonic() - started:.1f} s; results in {output}/")
