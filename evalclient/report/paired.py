"""Two combinations of one dataset compared on their identical samples, read against the noise floor.

The samples compared are those both answered (a failed request is no answer to compare), and both sides are
the headline computed over them the one way the task's scorer computes it: the mean, or for bfcl's
`ast_accuracy` the weighted mean of its category means (irrelevance left out). For a 0/1 headline that is a
plain mean the test is McNemar's exact test, otherwise (mc2, BLEU, a weighted mean) the paired bootstrap's
p-value, resampled within each group; the interval is the paired bootstrap's 95% interval of the difference
(second minus first) either way.

The noise floor is measured with `--repeat-subset N`: N samples of each dataset asked again on the same
deployment at another concurrency. For a 0/1 headline it is the share of repeated samples whose verdict
flipped; for a continuous one the mean absolute change of the sample's score. Noise alone moves a score by
at most that much (every flip in one direction), so a difference no larger than the floor of either side is
called noise, whatever its p-value.

A lead (one model or preset over another on a set of datasets) is the same comparison on 0–1 (BLEU / 100),
over one dataset or the mean over several (each dataset a group of weight 1/datasets); it is clear when the
comparison says significant beyond the noise floor (p < 0.05, and larger than the mean of the datasets'
floors on 0–1 where measured), and only a clear lead declares a winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalclient.report.headline import Headline, group_of, group_weights, headline_of, sample_score
from evalclient.report.stats import Bootstrap, mcnemar_exact, stratified_bootstrap
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


@dataclass(frozen=True)
class Pairs:
    """Two combinations' scores on the samples both answered, in the headline's groups with their weights
    (groups that weigh nothing, such as bfcl's irrelevance, left out)."""

    headline: Headline
    groups: dict[str, list[tuple[float, float]]]
    weights: dict[str, float]

    @property
    def n(self) -> int:
        return sum(len(pairs) for pairs in self.groups.values())

    def value(self, side: int) -> float:
        """The headline of the first (0) or second (1) combination over the paired samples."""
        return sum(
            w * sum(p[side] for p in self.groups[g]) / len(self.groups[g]) for g, w in self.weights.items()
        )

    def differences(self, scale: float = 1.0) -> dict[str, list[float]]:
        return {g: [(b - a) / scale for a, b in pairs] for g, pairs in self.groups.items()}


def paired_samples(first: Combination, second: Combination) -> Pairs | None:
    """`first` and `second` on the samples both answered; None without a common headline or sample."""
    if first.record is None or second.record is None or first.samples is None or second.samples is None:
        return None
    headline = headline_of(first.dataset, first.record.dataset_metrics)
    if headline is None or headline != headline_of(second.dataset, second.record.dataset_metrics):
        return None
    theirs = {s.id: sample_score(headline, s.verdict) for s in second.samples if s.answered}
    groups: dict[str, list[tuple[float, float]]] = {}
    for sample in first.samples:
        mine = sample_score(headline, sample.verdict) if sample.answered else None
        other = theirs.get(sample.id)
        if mine is not None and other is not None:
            groups.setdefault(group_of(headline, sample.verdict), []).append((mine, other))
    weights = {g: w for g, w in group_weights(headline, groups).items() if w > 0}
    if not weights:
        return None
    return Pairs(headline, {g: groups[g] for g in weights}, weights)


def compare(first: Combination, second: Combination) -> PairedResult | None:
    """`second` against `first` on the samples both answered; None without a common headline or sample."""
    paired = paired_samples(first, second)
    if paired is None:
        return None
    headline = paired.headline
    boot = stratified_bootstrap(paired.differences(), paired.weights)
    if headline.binary and len(paired.groups) == 1:
        (pairs,) = paired.groups.values()
        b = sum(1 for x, y in pairs if x > y)
        c = sum(1 for x, y in pairs if y > x)
        p_value, test = mcnemar_exact(b, c), f"McNemar exact (b={b}, c={c})"
    else:
        p_value = boot.p_value
        test = "paired bootstrap" if len(paired.groups) == 1 else f"paired bootstrap by {headline.group_key}"
    floor = _floor(first, second)
    return PairedResult(
        headline=headline,
        n=paired.n,
        first=paired.value(0),
        second=paired.value(1),
        delta=boot.mean,
        low=boot.low,
        high=boot.high,
        p_value=p_value,
        test=test,
        floor=floor,
        verdict=verdict(boot.mean, p_value, floor),
    )


@dataclass(frozen=True)
class Lead:
    """How far the second side is ahead of the first on 0–1 over a set of datasets, and whether clearly."""

    datasets: int
    n: int
    delta: float
    low: float
    high: float
    p_value: float
    test: str
    floor: float | None
    verdict: str

    @property
    def clear(self) -> bool:
        """Significant, and beyond the noise floor where one was measured."""
        return self.verdict.startswith("significant")

    def describe(self) -> str:
        """ "+0.125 (n=4), 95% CI [+0.000, +0.250], p 0.1250 (paired bootstrap), noise floor not measured:
        not significant"."""
        floor = "noise floor not measured" if self.floor is None else f"noise floor {self.floor:.3f}"
        reading = self.verdict.replace(" (noise floor not measured)", "")
        return (
            f"{self.delta:+.3f} (n={self.n}), 95% CI [{self.low:+.3f}, {self.high:+.3f}], "
            f"p {self.p_value:.4f} ({self.test}), {floor}: {reading}"
        )


def lead(pairs: Sequence[tuple[Combination, Combination]]) -> Lead | None:
    """Each pair's second against its first, on 0–1, over the pairs' datasets (their mean where several);
    None where one pair has no common headline or sample."""
    if not pairs:
        return None
    if len(pairs) == 1:
        result = compare(*pairs[0])
        if result is None:
            return None
        scale = result.headline.scale
        floor = None if result.floor is None else result.floor / scale
        return Lead(
            1,
            result.n,
            result.delta / scale,
            result.low / scale,
            result.high / scale,
            result.p_value,
            result.test,
            floor,
            result.verdict,
        )
    groups: dict[str, list[float]] = {}
    weights: dict[str, float] = {}
    floors: list[float] = []
    for first, second in pairs:
        paired = paired_samples(first, second)
        if paired is None:
            return None
        for group, values in paired.differences(paired.headline.scale).items():
            groups[f"{first.dataset}/{group}"] = values
            weights[f"{first.dataset}/{group}"] = paired.weights[group] / len(pairs)
        floor = _floor(first, second)
        if floor is not None:
            floors.append(floor / paired.headline.scale)
    boot: Bootstrap = stratified_bootstrap(groups, weights)
    mean_floor = sum(floors) / len(pairs) if floors else None
    return Lead(
        len(pairs),
        sum(len(v) for v in groups.values()),
        boot.mean,
        boot.low,
        boot.high,
        boot.p_value,
        "paired bootstrap by dataset",
        mean_floor,
        verdict(boot.mean, boot.p_value, mean_floor),
    )


def _floor(first: Combination, second: Combination) -> float | None:
    """The larger of the two sides' noise floors in the headline's units; None where neither has one."""
    floors = [
        f.floor for f in (noise_floor(first), noise_floor(second)) if f is not None and f.floor is not None
    ]
    return max(floors) if floors else None


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
