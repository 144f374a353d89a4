"""Scaling analysis: for each model family with an 8B and a 14B model, at each preset, the score,
throughput, peak GPU memory and energy per token side by side with the ratio 14B / 8B, over the datasets
both have complete, unflagged results for."""

from __future__ import annotations

from evalclient.report import plots
from evalclient.report.context import ReportContext
from evalclient.report.document import Section, number, with_n
from evalclient.report.measures import MEASURES, combined, score_of
from evalclient.report.sanity import ranked

FOLDER = "scaling_analysis"
SMALL, LARGE = "8b", "14b"


def section(ctx: ReportContext) -> Section:
    out = Section(FOLDER, "Scaling analysis: 8B → 14B")
    pairs = _pairs(ctx)
    if not pairs:
        have = sorted({f"{i.family} ({i.size_class})" for m, i in ctx.models.items() if m in ctx.tree.models})
        out.text(
            "No family has both an 8B and a 14B model in these results"
            + (f" (present: {', '.join(have)})." if have else " (no model of the results is in models.yaml).")
        )
        return out
    rows: list[tuple[str, ...]] = []
    detail: list[tuple[str, ...]] = []
    lines: dict[str, list[tuple[float, float]]] = {}
    for family, small, large in pairs:
        for preset in ctx.tree.presets:
            datasets = [
                d for d in ctx.tree.datasets if all(_ranked(ctx, m, preset, d) for m in (small, large))
            ]
            if not datasets:
                continue
            for measure in MEASURES:
                a = combined(ctx, small, preset, datasets, measure)
                b = combined(ctx, large, preset, datasets, measure)
                rows.append((family, preset, measure.label, a[1], b[1], _ratio(a[0], b[0])))
            if preset == ctx.reference_preset:
                for d in datasets:
                    sa, sb = (
                        score_of(ctx.tree.combinations[(small, preset, d)]),
                        score_of(ctx.tree.combinations[(large, preset, d)]),
                    )
                    detail.append(
                        (family, d, with_n(sa[0], sa[1]), with_n(sb[0], sb[1]), _ratio(sa[0], sb[0]))
                    )
                lines[family] = [
                    (ctx.models[m].params_b, combined(ctx, m, preset, datasets, MEASURES[0])[0] or 0.0)
                    for m in (small, large)
                ]
    out.table(
        "8B and 14B side by side, per preset",
        ("family", "preset", "measure", "8B", "14B", "ratio 14B/8B"),
        rows,
        key=True,
        note="Over the datasets both models have complete, unflagged results for at that preset (n = "
        "datasets combined). Scores: mean headline on 0–1; throughput and energy: mean over the datasets; "
        "memory: the peak over them.",
    )
    out.table(
        f"Headline score per dataset at the {ctx.reference_preset} preset",
        ("family", "dataset", "8B", "14B", "ratio 14B/8B"),
        detail,
    )
    out.figure(
        "scaling",
        f"Mean headline score by parameter count at the {ctx.reference_preset} preset",
        plots.slopes(lines, "parameters (billions)", "mean score (0–1)", "Score vs model size"),
    )
    return out


def _pairs(ctx: ReportContext) -> list[tuple[str, str, str]]:
    """(family, 8B model, 14B model) for each family with both sizes in the results."""
    by_family: dict[str, dict[str, str]] = {}
    for model in ctx.tree.models:
        info = ctx.models.get(model)
        if info is not None:
            by_family.setdefault(info.family, {}).setdefault(info.size_class, model)
    return [(f, s[SMALL], s[LARGE]) for f, s in by_family.items() if SMALL in s and LARGE in s]


def _ranked(ctx: ReportContext, model: str, preset: str, dataset: str) -> bool:
    combo = ctx.tree.combinations.get((model, preset, dataset))
    return combo is not None and ranked(combo)


def _ratio(small: float | None, large: float | None) -> str:
    """14B / 8B, or n/a where either is missing or the 8B value is 0."""
    if small is None or large is None or small == 0:
        return "n/a"
    return number(large / small, ".2f") + "×"
