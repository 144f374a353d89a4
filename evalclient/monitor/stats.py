"""Small, dependency-free statistics: means and percentiles over finite values (None and NaN are skipped)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def finite(values: Iterable[float | None]) -> list[float]:
    """The values that are real numbers: None, NaN and ±Inf dropped."""
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def mean(values: Iterable[float | None]) -> float | None:
    kept = finite(values)
    return sum(kept) / len(kept) if kept else None


def maximum(values: Iterable[float | None]) -> float | None:
    kept = finite(values)
    return max(kept) if kept else None


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between closest ranks (numpy's default)."""
    kept = sorted(finite(values))
    if not kept:
        return None
    rank = (len(kept) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(kept) - 1)
    return kept[low] + (kept[high] - kept[low]) * (rank - low)
