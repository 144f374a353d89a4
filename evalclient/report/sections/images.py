"""Images compared: the same model and preset served by several engine images (TGI versions, vLLM, SGLang:
one results folder each, given with --compare), side by side on each dataset, a regression beyond the noise
floor flagged. The first folder's image is the baseline."""

from __future__ import annotations

from evalclient.report.context import ReportContext, score_cell
from evalclient.report.document import Section, number, plural, signed
from evalclient.report.paired import compare
from evalclient.report.tree import Combination, Key

FOLDER = "model_comparison"


def image_of(combo: Combination) -> str:
    record = combo.record
    if record is None:
        return "?"
    image = str(record.provenance.get("image") or record.engine)
    image_id = str(record.provenance.get("image_id") or "")
    return image if not image_id.startswith("sha256:") else f"{image} ({image_id[7:19]})"


def section(ctx: ReportContext) -> Section | None:
    """None when every combination was served by one image."""
    groups: dict[Key, dict[str, Combination]] = {}
    for tree in (ctx.tree, *ctx.others):
        for key, combo in tree.combinations.items():
            if combo.record is not None:
                groups.setdefault(key, {}).setdefault(image_of(combo), combo)
    compared = {k: v for k, v in groups.items() if len(v) > 1}
    if not compared:
        return None
    out = Section(FOLDER, "Images compared")
    rows: list[tuple[str, ...]] = []
    regressions = 0
    for (model, preset, dataset), by_image in sorted(compared.items()):
        (base_image, base), *others = by_image.items()
        for image, other in others:
            result = compare(base, other)
            speed = _speed_ratio(base, other)
            if result is None:
                rows.append(
                    (
                        model,
                        preset,
                        dataset,
                        base_image,
                        image,
                        score_cell(base),
                        score_cell(other),
                        "",
                        "",
                        "",
                        "",
                        speed,
                        "no per-sample verdicts to pair",
                    )
                )
                continue
            regression = result.verdict.startswith("significant loss")
            regressions += regression
            rows.append(
                (
                    model,
                    preset,
                    dataset,
                    base_image,
                    image,
                    score_cell(base),
                    score_cell(other),
                    f"{signed(result.delta)} (n={result.n})",
                    f"[{signed(result.low)}, {signed(result.high)}]",
                    number(result.p_value, ".4f"),
                    "not measured" if result.floor is None else number(result.floor),
                    speed,
                    "⚑ regression" + result.verdict[len("significant loss") :]
                    if regression
                    else result.verdict,
                )
            )
    out.text(
        f"{plural(len(compared), 'combination')} ran on more than one image; "
        f"{plural(regressions, 'regression')} flagged."
    )
    out.table(
        "The same model and preset on several images",
        (
            "model",
            "preset",
            "dataset",
            "baseline image",
            "image",
            "baseline",
            "score",
            "Δ",
            "95% CI",
            "p",
            "noise floor",
            "throughput vs baseline",
            "verdict",
        ),
        rows,
        key=True,
        note="Δ and its test as in the preset comparison: on the identical samples, read against the noise "
        "floor.",
    )
    return out


def _speed_ratio(base: Combination, other: Combination) -> str:
    assert base.record is not None
    assert other.record is not None
    a = base.record.performance_metrics.get("throughput_tokens_per_second")
    b = other.record.performance_metrics.get("throughput_tokens_per_second")
    if a is None or b is None or not a:
        return "n/a"
    return f"{number(float(b) / float(a), '.2f')}×"
