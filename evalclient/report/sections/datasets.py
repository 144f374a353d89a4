"""Dataset analysis: datasets ranked by difficulty (mean headline score over the ranked results), their
spread across models, the share of unparseable answers per model, and the TTFT and answer-length
distributions per dataset (from the per-sample timings of the predictions)."""

from __future__ import annotations

from collections.abc import Sequence

from evalclient.report import plots
from evalclient.report.context import ReportContext
from evalclient.report.document import Section, number, percent, plural

FOLDER = "dataset_analysis"


def section(ctx: ReportContext) -> Section:
    out = Section(FOLDER, "Dataset analysis")
    out.table(
        "Datasets by difficulty (hardest first)",
        ("rank", "dataset", "metric", "mean (0–1)", "results", "samples", "min–max", "spread across models"),
        _difficulty(ctx),
        key=True,
        note="Mean of the headline score on 0–1 over every complete, unflagged model × preset result; the "
        "spread is the range (and standard deviation) of the models' means over their presets.",
    )
    models = ctx.tree.models
    datasets = [d for d in ctx.tree.datasets if _has_text(ctx, d)]
    out.table(
        "Unparseable answers per model (all presets)",
        ["model", *datasets, "all"],
        [
            [m, *(_unparseable(ctx, [m], [d]) for d in datasets), _unparseable(ctx, [m], datasets)]
            for m in models
        ],
        note="Answers the scorer could not read, of the samples scored; log-likelihood datasets have no "
        "text answers and are left out.",
    )
    ttft = _per_dataset(ctx, "ttft_ms")
    length = _per_dataset(ctx, "output_tokens")
    out.table(
        "Time to first token per dataset (ms, every request's first answer, all models and presets)",
        ("dataset", "n", "p50", "p90", "mean"),
        [(d, *_distribution(v)) for d, v in ttft.items()],
    )
    out.table(
        "Answer length per dataset (generated tokens, server-counted)",
        ("dataset", "n", "p50", "p90", "mean"),
        [
            (d, *_distribution(v)) if v else (d, "0", "n/a: no generated text (log-likelihood)", "", "")
            for d, v in length.items()
        ],
    )
    out.figure(
        "ttft", "Time to first token per dataset", plots.boxplots(ttft, "TTFT (ms)", "TTFT per dataset")
    )
    out.figure(
        "answer_length",
        "Answer length per dataset (log-likelihood datasets generate no text)",
        plots.boxplots(length, "generated tokens", "Answer length per dataset"),
    )
    return out


def _difficulty(ctx: ReportContext) -> list[tuple[str, ...]]:
    frame = ctx.frame[ctx.frame["ranked"] & ctx.frame["score_01"].notna()]
    rows: list[tuple[float, tuple[str, ...]]] = []
    for dataset, group in frame.groupby("dataset", sort=False):
        per_model = group.groupby("model")["score_01"].mean()
        spread = per_model.max() - per_model.min()
        std = per_model.std(ddof=0)
        metrics = "/".join(sorted(set(group["score_name"])))
        rows.append(
            (
                float(group["score_01"].mean()),
                (
                    str(dataset),
                    metrics,
                    number(group["score_01"].mean()),
                    str(len(group)),
                    str(int(group["num_samples"].sum())),
                    f"{number(group['score_01'].min())}–{number(group['score_01'].max())}",
                    f"{number(spread)} (sd {number(std)}, {plural(len(per_model), 'model')})",
                ),
            )
        )
    rows.sort(key=lambda r: r[0])
    unranked = sorted(set(ctx.tree.datasets) - {r[1][0] for r in rows})
    table = [(str(i), *r[1]) for i, r in enumerate(rows, 1)]
    table += [("—", d, "", "n/a: no complete, unflagged result", "0", "0", "", "") for d in unranked]
    return table


def _has_text(ctx: ReportContext, dataset: str) -> bool:
    return any(
        c.record is not None and c.record.dataset_metrics.get("num_failed_parse") is not None
        for c in ctx.tree.combinations.values()
        if c.dataset == dataset
    )


def _unparseable(ctx: ReportContext, models: Sequence[str], datasets: Sequence[str]) -> str:
    failed = total = 0
    for combo in ctx.tree.combinations.values():
        if combo.model in models and combo.dataset in datasets and combo.record is not None:
            count = combo.record.dataset_metrics.get("num_failed_parse")
            if isinstance(count, int):
                failed += count
                total += combo.record.num_samples
    return f"{percent(failed / total)} ({failed} of {total})" if total else "n/a: no scored text answers"


def _per_dataset(ctx: ReportContext, field: str) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {d: [] for d in ctx.tree.datasets}
    for combo in ctx.tree.combinations.values():
        for sample in combo.samples or ():
            value = getattr(sample, field)
            if sample.answered and value is not None:
                values[combo.dataset].append(float(value))
    return values


def _distribution(values: Sequence[float]) -> tuple[str, str, str, str]:
    import numpy as np

    if not values:
        return "0", "n/a: no answered sample", "", ""
    p50, p90 = np.percentile(values, [50, 90])
    return (
        str(len(values)),
        number(float(p50), ".1f"),
        number(float(p90), ".1f"),
        number(sum(values) / len(values), ".1f"),
    )
