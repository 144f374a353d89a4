"""The report's statistics against values worked out by hand."""

from __future__ import annotations

import pytest

from evalclient.report.stats import mcnemar_exact, paired_bootstrap, pareto_set


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (0, 0, 1.0),  # no discordant sample
        (3, 3, 1.0),  # 2 · P(X ≤ 3 | n=6) = 2 · 42/64 > 1, capped
        (1, 9, 0.021484375),  # 2 · (C(10,0) + C(10,1)) / 2^10 = 22/1024
        (9, 1, 0.021484375),  # symmetric
        (0, 5, 0.0625),  # 2 / 32
        (6, 0, 0.03125),  # 2 / 64
        (2, 8, 0.109375),  # 2 · (1 + 10 + 45) / 1024 = 112/1024
    ],
)
def test_mcnemar_exact(b: int, c: int, expected: float) -> None:
    assert mcnemar_exact(b, c) == expected


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        mcnemar_exact(-1, 2)


def test_bootstrap_of_a_constant_difference_is_that_difference() -> None:
    boot = paired_bootstrap([0.25] * 7)
    assert (boot.mean, boot.low, boot.high) == (0.25, 0.25, 0.25)
    assert boot.p_value == 1 / 10_001  # no resample is as far from 0.25 as 0.25 is from 0


def test_bootstrap_interval_matches_the_binomial_by_hand() -> None:
    # one 1 among four: a resample's mean is k/4, k ~ Binomial(4, 1/4). P(k=0) = .316, P(k≤2) = .949 and
    # P(k≤3) = .996, so the 2.5th percentile is 0 and the 97.5th is 3/4.
    boot = paired_bootstrap([0.0, 0.0, 0.0, 1.0])
    assert (boot.mean, boot.low, boot.high) == (0.25, 0.0, 0.75)
    # P(|k/4 − 1/4| ≥ 1/4) = P(k=0) + P(k≥2) = 81/256 + 67/256 = 0.578125, up to resampling error
    assert boot.p_value == pytest.approx(148 / 256, abs=0.015)


def test_bootstrap_is_reproducible_and_zero_mean_is_p_one() -> None:
    assert paired_bootstrap([0.1, -0.3, 0.2, 0.5]) == paired_bootstrap([0.1, -0.3, 0.2, 0.5])
    assert paired_bootstrap([1.0, -1.0]).p_value == 1.0


def test_bootstrap_needs_a_difference() -> None:
    with pytest.raises(ValueError, match="at least one"):
        paired_bootstrap([])


def test_pareto_set() -> None:
    points = {
        "balanced": [0.9, 100.0, 20.0],
        "performance": [0.8, 150.0, 18.0],  # faster and smaller, less accurate
        "memory": [0.8, 90.0, 19.0],  # dominated by performance
        "twin": [0.9, 100.0, 20.0],  # equal to balanced: neither dominates the other
    }
    assert pareto_set(points, [True, True, False]) == {"balanced", "performance", "twin"}
    assert pareto_set(points, [False, False, True]) == {"memory", "twin", "balanced"}
