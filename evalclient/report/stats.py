"""The statistics of the reports: McNemar's exact test, the paired bootstrap, the Pareto set.

McNemar's exact test compares two systems' per-sample correctness on the same samples: only the discordant
samples count (b: the first right and the second wrong; c: the reverse); under the null hypothesis each
discordant sample goes either way with probability 1/2, so the two-sided p-value is
min(1, 2 · Σ_{k ≤ min(b, c)} C(b + c, k) / 2^(b + c)). The paired bootstrap resamples the per-sample
differences (second minus first) with replacement, `BOOTSTRAP_RESAMPLES` times from a fixed seed, and gives
the 95% percentile interval of their mean and the two-sided p-value of the shifted resamples (the share of
resampled means at least as far from the observed mean as the observed mean is from zero).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
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
    import numpy as np

    if not differences:
        raise ValueError("the paired bootstrap needs at least one difference")
    values = np.asarray(differences, dtype=float)
    mean = float(values.mean())
    means = values[_resample_indices(len(values), resamples, seed)].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = (float(v) for v in np.percentile(means, [tail, 100 - tail]))
    if mean == 0:
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

    def oriented(values: Sequence[float]) -> list[float]:
        return [v if up else -v for v, up in zip(values, maximize, strict=True)]

    vectors = {name: oriented(values) for name, values in points.items()}
    front = set()
    for name, mine in vectors.items():
        dominated = any(
            all(o >= m for o, m in zip(other, mine, strict=True)) and other != mine
            for other_name, other in vectors.items()
            if other_name != name
        )
        if not dominated:
            front.add(name)
    return front
