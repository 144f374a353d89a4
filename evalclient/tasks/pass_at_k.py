"""The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code").

With n programs drawn for a problem of which c pass, pass@k = 1 - C(n-c, k) / C(n, k): the chance that k
programs drawn from the n without replacement include a passing one. For n = k = 1 it is 1 or 0. Computed in
exact integers, then divided.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

REPORTED_K = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k for one problem with `n` programs of which `c` passed (k <= n)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def mean_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float | None:
    """The mean of pass@k over problems given as (n, c); None without problems."""
    if not counts:
        return None
    return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)


def reported_ks(n: int) -> list[int]:
    """The k reported for n programs per problem: 1, 10 and 100 where n allows."""
    return [k for k in REPORTED_K if k <= n]
