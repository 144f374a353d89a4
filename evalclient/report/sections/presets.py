"""Preset comparison: per model, each preset's accuracy, throughput, peak memory and energy per token with
the Pareto set marked (a difference inside the noise is a tie, and presets tied in every measure get no ★);
per pair of presets of one model, the accuracy change on the identical samples with its paired test and
interval; and the noise floor those changes are read against (answer flip rates)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import combinations

from evalclient.report import plots
from evalclient.report.context import ReportContext
from evalclient.report.document import Section, number, percent, signed
from evalclient.report.measures import MEASURES, PERFORMANCE_NOISE, beyond_noise, combined
from evalclient.report.paired import compare, lead, noise_floor
from evalclient.report.sanity import ranked
from evalclient.report.stats import pareto_set_beyond_noise

FOLDER = "preset_comparison"


def section(ctx: ReportContext) -> Section:
    out = Section(FOLDER, "Preset comparison")
    table, notes, scatter = _tradeoffs(ctx)
    out.table(
        "Accuracy, throughput, peak memory and energy per preset",
        ("model", "preset", *(m.label for m in MEASURES), "Pareto set"),
        table,
        key=True,
        note="Per model, over the datasets every one of its presets has complete, unflagged results for. "
        "★: no other preset of the model is at least as good in every measure and better beyond the noise "
        "in one (score and throughput up, memory and energy down), and none is within noise of it in every "
        "measure (those read: no clear winner). Within noise: scores whose difference on the samples both "
        "answered is not significant (p ≥ 0.05, paired bootstrap over the datasets; McNemar's exact test "
        "for one dataset of 0/1 verdicts) or no larger than the noise floor; throughput, memory and energy "
        f"within {PERFORMANCE_NOISE:.0%} of each other (the suite does not measure their run-to-run noise). "
        + " ".join(notes),
    )
    out.figure(
        "pareto",
        "Mean score vs throughput per preset, both axes from zero; filled markers: ★ (Pareto set beyond the "
        "noise)",
        plots.pareto_scatter(
            scatter, "throughput (tokens/s)", "mean score (0–1)", "Presets: accuracy vs speed"
        ),
    )
    paired = _paired_rows(ctx)
    verdicts = Counter(r[-1] for r in paired)
    tally = f"{len(paired)} pairs: " + ", ".join(f"{n} {v}" for v, n in verdicts.most_common()) + ". "
    out.table(
        "Accuracy change between presets on the identical samples",
        (
            "model",
            "dataset",
            "from → to",
            "n",
            "from",
            "to",
            "Δ",
            "95% CI",
            "test",
            "p",
            "noise floor",
            "verdict",
        ),
        paired,
        key=True,
        brief=[r for r in paired if r[-1].startswith("significant")],
        note=tally
        + "from, to: the headline computed as the headline table computes it, over the samples both "
        "answered that it counts (n; bfcl's ast_accuracy leaves irrelevance out); Δ = to − from; CI: "
        "paired bootstrap (10,000 resamples, fixed seed; within each category for bfcl's ast_accuracy, a "
        "mean of category means); p: McNemar's exact test for a mean of 0/1 verdicts, the paired bootstrap "
        "otherwise. A |Δ| no larger than the noise floor (the larger of the two presets') is noise.",
    )
    _noise(ctx, out)
    return out


def _tradeoffs(
    ctx: ReportContext,
) -> tuple[list[tuple[str, ...]], list[str], dict[str, list[tuple[str, float, float, bool]]]]:
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    scatter: dict[str, list[tuple[str, float, float, bool]]] = {}
    tree = ctx.tree
    for model in tree.models:
        presets = [
            p
            for p in tree.presets
            if any(c.record for k, c in tree.combinations.items() if k[:2] == (model, p))
        ]
        datasets = [d for d in tree.datasets if all(_ranked(ctx, model, p, d) for p in presets)]
        if not presets:
            continue
        if not datasets:
            rows.extend(
                (model, p, *("n/a: no dataset with ranked results at every preset" for _ in MEASURES), "")
                for p in presets
            )
            continue
        cells = {p: [combined(ctx, model, p, datasets, m) for m in MEASURES] for p in presets}
        used = [i for i in range(len(MEASURES)) if all(cells[p][i][0] is not None for p in presets)]
        dropped = [MEASURES[i].label for i in range(len(MEASURES)) if i not in used]
        if dropped:
            notes.append(f"{model}: {', '.join(dropped)} left out of the Pareto set (not measured).")
        values = {p: [float(cells[p][i][0] or 0.0) for i in used] for p in presets}  # none is None
        order = _order(ctx, model, datasets, values, used)
        front = pareto_set_beyond_noise(presets, order)
        starred = set()
        for p in presets:
            ties = [q for q in presets if q != p and q in front and not any(order(p, q))]
            if p not in front:
                mark = ""
            elif ties:
                mark = f"no clear winner (within noise: {' ≈ '.join([p, *ties])})"
            else:
                mark = "★"
                starred.add(p)
            rows.append((model, p, *(cell for _, cell in cells[p]), mark))
        score, speed = cells[presets[0]][0][0], cells[presets[0]][1][0]
        if score is not None and speed is not None:
            scatter[model] = [
                (p, float(cells[p][1][0] or 0.0), float(cells[p][0][0] or 0.0), p in starred) for p in presets
            ]
    return rows, notes, scatter


def _order(
    ctx: ReportContext, model: str, datasets: list[str], values: dict[str, list[float]], used: list[int]
) -> Callable[[str, str], list[int]]:
    """Per measure used, +1 where preset a beats preset b beyond the noise, -1 where it loses beyond it, else
    0: the score by the lead on the datasets' samples, the performance measures by PERFORMANCE_NOISE."""
    leads: dict[tuple[str, str], int] = {}

    def score_sign(a: str, b: str) -> int:
        if (a, b) not in leads:
            combos = ctx.tree.combinations
            ahead = lead([(combos[(model, b, d)], combos[(model, a, d)]) for d in datasets])
            sign = 0 if ahead is None or not ahead.clear else (1 if ahead.delta > 0 else -1)
            leads[(a, b)], leads[(b, a)] = sign, -sign
        return leads[(a, b)]

    def order(a: str, b: str) -> list[int]:
        signs = []
        for position, index in enumerate(used):
            if MEASURES[index].field is None:
                signs.append(score_sign(a, b))
            else:
                signs.append(beyond_noise(MEASURES[index], values[a][position], values[b][position]))
        return signs

    return order


def _ranked(ctx: ReportContext, model: str, preset: str, dataset: str) -> bool:
    combo = ctx.tree.combinations.get((model, preset, dataset))
    return combo is not None and ranked(combo)


def _paired_rows(ctx: ReportContext) -> list[tuple[str, ...]]:
    tree = ctx.tree
    rows: list[tuple[str, ...]] = []
    for model in tree.models:
        for dataset in tree.datasets:
            usable = [
                p
                for p in tree.presets
                if (c := tree.combinations.get((model, p, dataset))) is not None
                and c.status in ("complete", "partial")
            ]
            for first, second in combinations(usable, 2):
                a, b = tree.combinations[(model, first, dataset)], tree.combinations[(model, second, dataset)]
                result = compare(a, b)
                if result is None:
                    why = "no per-sample verdicts to pair (predictions missing or no common sample)"
                    rows.append((model, dataset, f"{first} → {second}", "0", *([""] * 7), why))
                    continue
                rows.append(
                    (
                        model,
                        dataset,
                        f"{first} → {second}",
                        str(result.n),
                        number(result.first),
                        number(result.second),
                        signed(result.delta),
                        f"[{signed(result.low)}, {signed(result.high)}]",
                        result.test,
                        number(result.p_value, ".4f"),
                        "not measured" if result.floor is None else number(result.floor),
                        result.verdict,
                    )
                )
    return rows


def _noise(ctx: ReportContext, out: Section) -> None:
    tree = ctx.tree
    floors = {k: f for k, c in tree.combinations.items() if (f := noise_floor(c)) is not None}
    if not floors:
        out.text(
            "Noise floor: not measured. Even at temperature 0 a server's answers change with the batch they "
            "are computed in; run the sweep with --repeat-subset N to re-ask N samples of each dataset on "
            "the same deployment at another concurrency, and the changes above are read against it."
        )
        return
    pooled: list[tuple[str, ...]] = []
    for model in tree.models:
        for preset in tree.presets:
            mine = [f for k, f in floors.items() if k[:2] == (model, preset)]
            if not mine:
                continue
            n = sum(f.repeated for f in mine)
            answers = sum(f.answer_flips for f in mine)
            verdicts = sum(f.verdict_flips for f in mine)
            concurrency = ", ".join(sorted({str(f.concurrency) for f in mine}))
            pooled.append(
                (
                    model,
                    preset,
                    str(n),
                    f"{percent(answers / n)} ({answers})",
                    f"{percent(verdicts / n)} ({verdicts})",
                    concurrency,
                )
            )
    out.table(
        "Noise floor: answers that changed when asked again (all datasets)",
        ("model", "preset", "n re-asked", "answer flip rate", "verdict flip rate", "re-asked at concurrency"),
        pooled,
        key=True,
        note="The same samples asked again on the same deployment at another concurrency: an answer flip is "
        "any change of the answer (text, or the choice picked); a verdict flip changes its score.",
    )
    out.table(
        "Noise floor per dataset",
        ("model", "preset", "dataset", "n re-asked", "answer flips", "verdict flips", "noise floor"),
        [
            (k[0], k[1], k[2], str(f.repeated), str(f.answer_flips), str(f.verdict_flips), number(f.floor))
            for k, f in floors.items()
        ],
    )
