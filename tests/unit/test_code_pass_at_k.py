"""The unbiased pass@k estimator, with values worked by hand."""

from __future__ import annotations

import pytest

from evalclient.tasks.pass_at_k import mean_pass_at_k, pass_at_k, reported_ks


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 3, 1, 0.3),  # 1 - C(7,1)/C(10,1) = 1 - 7/10
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 1, 10, 1.0),  # every draw of 10 from 10 includes the passing one
        (20, 0, 10, 0.0),
        (4, 3, 2, 1.0),  # n - c < k
    ],
)
def test_pass_at_k(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_mean_over_problems_and_reported_ks() -> None:
    assert mean_pass_at_k([(1, 1), (1, 0), (1, 1), (1, 1)], 1) == 0.75
    assert mean_pass_at_k([], 1) is None
    assert reported_ks(1) == [1]
    assert reported_ks(10) == [1, 10]
    assert reported_ks(200) == [1, 10, 100]


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 4), (3, 1, 0)])
def test_impossible_counts_are_refused(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="pass@k needs"):
        pass_at_k(n, c, k)
