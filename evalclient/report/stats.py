"""The statistics of the reports: McNemar's exact test, the paired bootstrap, the Pareto set.

McNemar's exact test compares two systems' per-sample correctness on the same samples: only the discordant
samples count (b: the first right and the second wrong; c: the reverse); under the null hypothesis each
discordant sample goes either way with probability 1/2, so the two-sided p-value is
min(1, 2 · Σ_{k ≤ min(b, c)} C(b + c, k) / 2^(b + c)). The paired bootstrap resamples the per-sample
differences (second minus first) with replacement, `BOOTSTRAP_RESAMPLES` times from a fixed seed, and gives
the 95% percentile interval of their mean and the two-sided p-value of the shifted resamples (the share of
resampled means at least as far from the observed mean as the observed mean is from zero). A metric that
is a weighted mean of group means (BFCL's category summary, a mean over datasets) is bootstrapped within each
group, its weights fixed. The Pareto set can count a difference inside the noise floor as a tie.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20_240_611
CONFIDENCE = 0.95


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant samples (1.0 when there are none)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts must not be negative")
    n = b + c
    if n == 0:
        return 1.0
    tail: int = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, 2 * tail / (1 << n))  # int / int: the exact ratio, rounded once


@dataclass(frozen=True)
class Bootstrap:
    """The mean paired difference, its percentile interval and the bootstrap p-value."""

    mean: float
    low: float
    high: float
    p_value: float


def paired_bootstrap(
    differences: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> Bootstrap:
    """Percentile interval (CONFIDENCE) of the mean of `differences` and its two-sided p-value."""
    if not differences:
        raise ValueError("the paired bootstrap needs at least one difference")
    return stratified_bootstrap({"": differences}, {"": 1.0}, resamples, seed)


def stratified_bootstrap(
    groups: Mapping[str, Sequence[float]],
    weights: Mapping[str, float],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Bootstrap:
    """The paired bootstrap of a weighted mean of group means, Σ weights[g] · mean(groups[g]) (BFCL's
    category summary; a mean over datasets): each group is resampled within itself, so the weights stay
    fixed. One group of weight 1 is `paired_bootstrap`; group i draws its positions from seed + i."""
    import numpy as np

    shown = [(values, weights[name]) for name, values in groups.items() if values]
    if not shown:
        raise ValueError("the paired bootstrap needs at least one difference")
    mean = 0.0
    means = np.zeros(resamples)
    for index, (values, weight) in enumerate(shown):
        array = np.asarray(values, dtype=float)
        mean += weight * float(array.mean())
        means += weight * array[_resample_indices(len(array), resamples, seed + index)].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = (float(v) for v in np.percentile(means, [tail, 100 - tail]))
    if abs(mean) < 1e-12:
        p_value = 1.0
    else:
        extreme = int(np.count_nonzero(np.abs(means - mean) >= abs(mean) - 1e-12))
        p_value = min(1.0, (extreme + 1) / (resamples + 1))
    return Bootstrap(mean, low, high, p_value)


@functools.lru_cache(maxsize=8)
def _resample_indices(n: int, resamples: int, seed: int) -> Any:
    """The resampled positions for `n` differences: the same for every comparison of n samples."""
    import numpy as np

    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def pareto_set(points: Mapping[str, Sequence[float]], maximize: Sequence[bool]) -> set[str]:
    """The names of the points no other point dominates (as good in every objective, better in one)."""

    def order(a: str, b: str) -> list[int]:
        return [
            (x > y) - (x < y) if up else (x < y) - (x > y)
            for x, y, up in zip(points[a], points[b], maximize, strict=True)
        ]

    return pareto_set_beyond_noise(list(points), order)


def pareto_set_beyond_noise(names: Sequence[str], order: Callable[[str, str], Sequence[int]]) -> set[str]:
    """The Pareto set where a difference inside the noise floor is a tie: `order(a, b)` gives, per measure,
    +1 where a is better than b beyond the noise floor, -1 where it is worse beyond it, 0 within it. A name
    is dominated by another that is nowhere worse beyond the noise and somewhere better beyond it."""
    front = set()
    for name in names:
        dominated = False
        for other in names:
            if other != name:
                signs = order(other, name)
                if all(s >= 0 for s in signs) and any(s > 0 for s in signs):
                    dominated = True
                    break
        if not dominated:
            front.add(name)
    return front
