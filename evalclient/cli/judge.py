"""`evalclient judge`: the judge phase on a results folder, alone or after `eval-all`'s sweep."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evalclient.cli.common import config_of, err
from evalclient.cli.gpus import parse_gpus
from evalclient.cli.options import MODEL_CACHE, QUIET, engines
from evalclient.cli.report import show_reports
from evalclient.cli.signals import with_signals
from evalclient.config import Config
from evalclient.errors import UsageError

if TYPE_CHECKING:
    from evalclient.judge import JudgeData, JudgeSettings, JudgeSummary
    from evalclient.judge.session import Opener
    from evalclient.results import CombinationRecord, ResultsOrganizer


@dataclass(frozen=True)
class JudgeRequest:
    """A judge phase: `judge`'s options (None: the sweep's), as `judge` or `eval-all` set them."""

    output: Path | None = None
    judge_endpoint: str | None = None
    judge_endpoint_model: str | None = None
    judge_model: str | None = None
    judge_preset: str | None = None
    engine: str | None = None
    image: str | None = None
    gpus: str = "auto"
    models: str | None = None
    presets: str | None = None
    datasets: str | None = None
    """Comma list; None: every judged dataset."""
    data_dir: Path | None = None
    mt_bench_references: Path | None = None
    alpaca_gamed: Path | None = None
    concurrency: int | None = None
    model_cache: Path | None = None
    quiet: bool = False


@click.command()
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
@click.option("--engine", type=engines(), help="Engine of the judge deployment.")
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
@QUIET
@click.pass_context
def judge(
    ctx: click.Context,
    /,
    output: Path | None,
    judge_endpoint: str | None,
    judge_endpoint_model: str | None,
    judge_model: str | None,
    judge_preset: str | None,
    engine: str | None,
    image: str | None,
    gpus: str,
    models: str | None,
    presets: str | None,
    datasets: str,
    data_dir: Path | None,
    mt_bench_references: Path | None,
    alpaca_gamed: Path | None,
    concurrency: int | None,
    model_cache: Path | None,
    quiet: bool,
) -> None:
    """Grade the stored mt_bench and alpaca_eval answers with a judge (resumes: nothing is judged twice).

    The judge is an endpoint (--judge-endpoint), a models.yaml model deployed for it (--judge-model), or by
    default the largest model of the sweep (a self-judge: not comparable to GPT-4-judged leaderboards)."""
    request = JudgeRequest(
        output=output,
        judge_endpoint=judge_endpoint,
        judge_endpoint_model=judge_endpoint_model,
        judge_model=judge_model,
        judge_preset=judge_preset,
        engine=engine,
        image=image,
        gpus=gpus,
        models=models,
        presets=presets,
        datasets=datasets,
        data_dir=data_dir,
        mt_bench_references=mt_bench_references,
        alpaca_gamed=alpaca_gamed,
        concurrency=concurrency,
        model_cache=model_cache,
        quiet=quiet,
    )
    if judge_phase(ctx, request):
        sys.exit(1)


def judge_phase(ctx: click.Context, request: JudgeRequest) -> int:
    """The judge phase on a results folder; the number of combinations not fully judged."""
    from evalclient.judge import JudgeData, deployment_judge, endpoint_judge
    from evalclient.results import ResultsOrganizer

    config = config_of(ctx)
    if request.judge_endpoint and request.judge_model:
        raise UsageError("--judge-endpoint and --judge-model exclude each other", "pass one judge")
    datasets = _judged_datasets(request.datasets)
    settings = _judge_settings(config, request)
    results = ResultsOrganizer(request.output or Path(config.sweep.output))
    run_id = "judge-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    records = _records(results, request, datasets)
    if settings.endpoint:
        judge = endpoint_judge(settings)
    else:
        judge = deployment_judge(config, settings, results, run_id, config.sweep.models)
    data = JudgeData(
        data_dir=request.data_dir,
        cache_dir=results.datasets_cache,
        references=request.mt_bench_references,
        gamed=request.alpaca_gamed,
    )
    summary = _judge_locked(config, results, run_id, records, judge, data, quiet=request.quiet)
    err.print(f"judge requests sent: {summary.sent}; judgments reused: {summary.reused}")
    for outcome in summary.failed:
        err.print(f"[red]  {outcome.key} {outcome.status}:[/red] {outcome.message}", soft_wrap=True)
    return len(summary.failed)


def _judge_locked(
    config: Config,
    results: ResultsOrganizer,
    run_id: str,
    records: list[CombinationRecord],
    judge: tuple[dict[str, Any], Opener],
    data: JudgeData,
    *,
    quiet: bool,
) -> JudgeSummary:
    """Judge the records under the results folder's lock, then rebuild its reports (the judgments stand
    if that fails)."""
    from evalclient.judge import judge_results
    from evalclient.results.lock import RunLock

    identity, opener = judge
    with RunLock(results.base_dir, run_id):
        err.print(f"judge {identity['name']}: {len(records)} combination(s) in {results.base_dir}")
        if identity.get("note"):
            err.print(f"[yellow]{identity['note']}[/yellow]")
        summary = asyncio.run(
            with_signals(
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
            show_reports(config, results.base_dir, ())
        except Exception as exc:  # the judgments stand whatever happens here
            err.print(
                f"[yellow]the reports could not be rebuilt ({type(exc).__name__}: {exc})", soft_wrap=True
            )
    return summary


def _judged_datasets(selected: str | None) -> list[str]:
    """--datasets as a list (None: every judged dataset); UsageError for one that is not judged."""
    from evalclient.judge import JUDGED_DATASETS

    datasets = [d.strip() for d in (selected or ",".join(JUDGED_DATASETS)).split(",") if d.strip()]
    unjudged = [d for d in datasets if d not in JUDGED_DATASETS]
    if unjudged:
        raise UsageError(
            f"not judged datasets: {', '.join(unjudged)}", f"judged: {', '.join(JUDGED_DATASETS)}"
        )
    return datasets


def _judge_settings(config: Config, request: JudgeRequest) -> JudgeSettings:
    """Who judges and how hard to drive it: the request's, else the sweep's (its largest model judges)."""
    from evalclient.deploy.model_cache import resolve_model_cache
    from evalclient.judge import JudgeSettings, largest_model

    sweep = config.sweep
    engine = request.engine or sweep.engine.kind
    image = request.image or (sweep.engine.image if engine == sweep.engine.kind else None)
    model = request.judge_model
    if not request.judge_endpoint and not model:
        model = largest_model(config, sweep.models).key
    return JudgeSettings(
        endpoint=request.judge_endpoint,
        endpoint_model=request.judge_endpoint_model,
        model=model,
        preset=request.judge_preset or sweep.presets[0],
        engine=engine,
        image=image,
        gpus=() if request.judge_endpoint else parse_gpus(request.gpus or "auto"),
        concurrency=request.concurrency,
        request_timeout_s=sweep.client.request_timeout_s,
        max_retries=sweep.client.max_retries,
        ready_timeout_s=sweep.ready_timeout_s,
        memory_limit=sweep.engine.memory_limit,
        model_cache=None if request.judge_endpoint else resolve_model_cache(request.model_cache),
    )


def _records(
    results: ResultsOrganizer, request: JudgeRequest, datasets: list[str]
) -> list[CombinationRecord]:
    """The stored answers to judge (--models, --presets: only those); UsageError when there are none."""
    from evalclient.judge import judged_records

    records = judged_records(
        results,
        models=[m.strip() for m in request.models.split(",")] if request.models else None,
        presets=[p.strip() for p in request.presets.split(",")] if request.presets else None,
        datasets=datasets,
    )
    if not records:
        raise UsageError(
            f"no stored mt_bench or alpaca_eval answers to judge in {results.base_dir}",
            "run the sweep with those datasets first, or pass --output with its results folder",
        )
    return records
