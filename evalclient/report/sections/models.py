"""Model comparison: models × datasets headline scores, the best model per task family (named only where its
lead is clear of the noise), a grouped bar chart. Models are compared at the reference preset; the table of
every preset follows."""

from __future__ import annotations

from evalclient.report import plots
from evalclient.report.context import ReportContext, score_cell
from evalclient.report.document import Section, number, plural
from evalclient.report.families import REPORT_FAMILIES, family_of
from evalclient.report.headline import headline_of
from evalclient.report.paired import Lead, lead
from evalclient.report.sanity import ranked
from evalclient.report.serving import differences, served_as, serving_of
from evalclient.report.tree import Combination

FOLDER = "model_comparison"


def section(ctx: ReportContext) -> Section:
    tree = ctx.tree
    out = Section(FOLDER, "Model comparison")
    reference = ctx.reference_preset
    if reference is None:
        out.text("No combination has results yet.")
        return out
    datasets = tree.datasets
    headers = ["model", *(_dataset_header(ctx, d) for d in datasets)]
    at_reference = [tree.combinations.get((m, reference, d)) for m in tree.models for d in datasets]
    mixed = differences(at_reference)
    out.table(
        f"Headline scores at the {reference} preset",
        headers,
        [[m, *(score_cell(tree.combinations.get((m, reference, d))) for d in datasets)] for m in tree.models],
        key=True,
        note="One metric per dataset (named in the header), with its sample count. ⚑ marks a sanity flag: "
        "such a score is shown, not ranked." + (f" {mixed}" if mixed else ""),
    )
    out.table(
        "Served by",
        ("model", "preset", "engine (serving path)", "image", "knobs not applied"),
        _served_rows(ctx),
        note="Each deployment's engine release, serving path and image, from its results' provenance; "
        "a knob not applied is listed, never reported as applied.",
    )
    out.table(
        "Headline scores at every preset",
        ["model", "preset", *headers[1:]],
        [
            [m, p, *(score_cell(tree.combinations.get((m, p, d))) for d in datasets)]
            for m in tree.models
            for p in tree.presets
        ],
    )
    out.table(
        f"Best model per task family at the {reference} preset",
        ("family", "datasets", "best model", "mean score (0–1)", "runner-up", "lead over the runner-up"),
        _best_per_family(ctx, reference),
        key=True,
        note="Mean of the headline scores on 0–1 (BLEU / 100) over the family's datasets; only models with "
        "a complete, unflagged result on every one of them are ranked. A model is named best only where its "
        "lead over every other ranked model is clear: significant on the samples both answered (p < 0.05: "
        "McNemar's exact test for one dataset with 0/1 verdicts, else the paired bootstrap, 10,000 "
        "resamples) and larger than the noise floor (the mean of the datasets' floors on 0–1) where "
        "--repeat-subset measured one; otherwise no clear winner, with the models within noise of the "
        "highest." + (f" {mixed}" if mixed else ""),
    )
    series = {m: [_score01(tree.combinations.get((m, reference, d))) for d in datasets] for m in tree.models}
    out.figure(
        "headline_scores",
        f"Headline scores at the {reference} preset (0–1; BLEU / 100; flagged, partial, failed and missing "
        "results are not drawn)",
        plots.grouped_bars(datasets, series, "score (0–1)", f"Headline score per dataset ({reference})"),
    )
    return out


def _served_rows(ctx: ReportContext) -> list[list[str]]:
    rows = []
    for model in ctx.tree.models:
        for preset in ctx.tree.presets:
            combos = [c for c in ctx.tree.combinations.values() if (c.model, c.preset) == (model, preset)]
            served = next((c for c in combos if c.record is not None), None)
            if served is None:
                continue
            serving = serving_of(served)
            notes = serving.get("substitutions") or ()
            knobs = "; ".join(str(n).split(": ", 1)[-1] for n in notes) or "—"
            rows.append([model, preset, served_as(served), str(serving.get("image") or "—"), knobs])
    return rows


def _dataset_header(ctx: ReportContext, dataset: str) -> str:
    names = {
        h.metric
        for c in ctx.tree.combinations.values()
        if c.dataset == dataset and c.record is not None
        for h in [headline_of(dataset, c.record.dataset_metrics)]
        if h is not None
    }
    return f"{dataset} ({'/'.join(sorted(names))})" if names else dataset


def _score01(combo: Combination | None) -> float | None:
    if combo is None or combo.record is None or not ranked(combo):
        return None
    headline = headline_of(combo.dataset, combo.record.dataset_metrics)
    if headline is None:
        return None
    return float(combo.record.dataset_metrics[headline.metric]) / headline.scale


def _best_per_family(ctx: ReportContext, preset: str) -> list[tuple[str, ...]]:
    tree = ctx.tree
    rows: list[tuple[str, ...]] = []
    for family in REPORT_FAMILIES:
        datasets = [d for d in tree.datasets if family_of(d) == family]
        if not datasets:
            rows.append((family, "—", "not run", "", "", ""))
            continue
        scored: list[tuple[float, str, int, int]] = []
        for model in tree.models:
            combos = [tree.combinations.get((model, preset, d)) for d in datasets]
            values = [_score01(c) for c in combos]
            if all(v is not None for v in values):
                records = [c.record for c in combos if c is not None and c.record is not None]
                n = sum(r.num_samples for r in records)
                asked = sum(r.samples_requested or r.num_samples for r in records)
                scored.append((sum(v for v in values if v is not None) / len(values), model, n, asked))
        if not scored:
            rows.append(
                (family, ", ".join(datasets), "none ranked", "no model has a ranked result on each", "", "")
            )
            continue
        scored.sort(key=lambda s: (-s[0], s[1]))
        best, others = scored[0], scored[1:]
        leads = [_lead(ctx, preset, datasets, other[1], best[1]) for other in others]
        within = [o[1] for o, lead in zip(others, leads, strict=True) if lead is None or not lead.clear]
        short = f" of {best[3]} asked" if best[3] > best[2] else ""
        mean = f"{number(best[0])} (n={best[2]}{short} samples, {plural(len(datasets), 'dataset')})"
        if within:
            name = f"no clear winner (within noise: {', '.join([best[1], *within])})"
            mean = f"{best[1]} {mean}"
        else:
            name = best[1]
        runner = f"{others[0][1]} {number(others[0][0])} (n={others[0][2]})" if others else "—"
        if not others:
            margin = "—"
        elif leads[0] is None:
            margin = "n/a: no per-sample verdicts to pair"
        else:
            margin = leads[0].describe()
        rows.append((family, ", ".join(datasets), name, mean, runner, margin))
    return rows


def _lead(ctx: ReportContext, preset: str, datasets: list[str], behind: str, ahead: str) -> Lead | None:
    """`ahead` against `behind` over the family's datasets at `preset`, on the samples both answered."""
    pairs = []
    for dataset in datasets:
        a = ctx.tree.combinations.get((behind, preset, dataset))
        b = ctx.tree.combinations.get((ahead, preset, dataset))
        if a is None or b is None:
            return None
        pairs.append((a, b))
    return lead(pairs)
