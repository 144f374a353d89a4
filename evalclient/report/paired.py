"""Two combinations of one dataset compared on their identical samples, read against the noise floor.

The samples compared are those both answered (a failed request is no answer to compare). For a 0/1 headline
the test is McNemar's exact test, for a continuous one (mc2, BLEU) the paired bootstrap's p-value; the
interval is the paired bootstrap's 95% interval of the mean difference (second minus first) either way.

The noise floor is measured with `--repeat-subset N`: N samples of each dataset asked again on the same
deployment at another concurrency. For a 0/1 headline it is the share of repeated samples whose verdict
flipped; for a continuous one the mean absolute change of the sample's score. Noise alone moves a score by
at most that much (every flip in one direction), so a difference no larger than the floor of either side is
called noise, whatever its p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalclient.report.headline import Headline, headline_of, sample_score
from evalclient.report.stats import mcnemar_exact, paired_bootstrap
from evalclient.report.tree import Combination

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class NoiseFloor:
    """What asking the same samples again changed."""

    repeated: int
    answer_flips: int
    verdict_flips: int
    floor: float | None
    """In the headline's units: the verdict flip rate (0/1 headline) or the mean absolute change."""
    concurrency: int | None


@dataclass(frozen=True)
class PairedResult:
    headline: Headline
    n: int
    first: float
    second: float
    delta: float
    low: float
    high: float
    p_value: float
    test: str
    floor: float | None
    verdict: str


def noise_floor(combo: Combination) -> NoiseFloor | None:
    """The flips among the combination's repeated samples; None when it has none."""
    record = combo.record
    if record is None or not combo.repeats:
        return None
    headline = headline_of(combo.dataset, record.dataset_metrics)
    answer_flips = sum(r.first_answer != r.second_answer for r in combo.repeats)
    changes: list[float] = []
    for row in combo.repeats:
        first = sample_score(headline, row.first_verdict) if headline else None
        second = sample_score(headline, row.second_verdict) if headline else None
        if first is not None and second is not None:
            changes.append(abs(second - first))
    flips = sum(change > 1e-9 for change in changes)
    floor = None
    if headline is not None and changes:
        floor = flips / len(changes) if headline.binary else sum(changes) / len(changes)
    return NoiseFloor(len(combo.repeats), answer_flips, flips, floor, combo.repeats[0].concurrency)


def compare(first: Combination, second: Combination) -> PairedResult | None:
    """`second` against `first` on the samples both answered; None without a common headline or sample."""
    if first.record is None or second.record is None or first.samples is None or second.samples is None:
        return None
    headline = headline_of(first.dataset, first.record.dataset_metrics)
    if headline is None or headline != headline_of(second.dataset, second.record.dataset_metrics):
        return None
    theirs = {s.id: sample_score(headline, s.verdict) for s in second.samples if s.answered}
    pairs: list[tuple[float, float]] = []
    for sample in first.samples:
        mine = sample_score(headline, sample.verdict) if sample.answered else None
        other = theirs.get(sample.id)
        if mine is not None and other is not None:
            pairs.append((mine, other))
    if not pairs:
        return None
    boot = paired_bootstrap([b - a for a, b in pairs])
    if headline.binary:
        b = sum(1 for x, y in pairs if x > y)
        c = sum(1 for x, y in pairs if y > x)
        p_value, test = mcnemar_exact(b, c), f"McNemar exact (b={b}, c={c})"
    else:
        p_value, test = boot.p_value, "paired bootstrap"
    floors = [
        f.floor for f in (noise_floor(first), noise_floor(second)) if f is not None and f.floor is not None
    ]
    floor = max(floors) if floors else None
    return PairedResult(
        headline=headline,
        n=len(pairs),
        first=sum(a for a, _ in pairs) / len(pairs),
        second=sum(b for _, b in pairs) / len(pairs),
        delta=boot.mean,
        low=boot.low,
        high=boot.high,
        p_value=p_value,
        test=test,
        floor=floor,
        verdict=verdict(boot.mean, p_value, floor),
    )


def verdict(delta: float, p_value: float, floor: float | None) -> str:
    """How a difference reads: noise, a significant loss or gain, or not significant."""
    if delta == 0:
        return "no change"
    if floor is not None and abs(delta) <= floor:
        return "noise (inside the noise floor)"
    if p_value < SIGNIFICANCE:
        direction = "loss" if delta < 0 else "gain"
        return f"significant {direction}" + ("" if floor is not None else " (noise floor not measured)")
    return "not significant"
