"""AlpacaEval's win rate and its length-controlled win rate, computed as alpaca_eval.metrics does.

A preference is in [1, 2]: 1 the reference output wins, 2 the model's wins, 1.5 a draw (continuous values come
from the judge's logprobs). The win rate is the mean of `preference - 1` in percent, so a draw counts 0.5;
`discrete_win_rate` rounds each preference first. Preferences that are None (no preference could be read)
are dropped.

The length-controlled win rate (AlpacaEval's `length_controlled_v1` GLM) fits a logistic regression of
`preference - 1` on `tanh(std_delta_len)`, `instruction_difficulty` and a constant (no intercept), where
`std_delta_len` is (reference length - model length) in characters over its standard deviation, then predicts
each comparison with the length difference set to 0 and averages. It needs AlpacaEval's per-instruction
difficulty (`instruction_difficulty.csv` of the tatsu-lab/alpaca_eval hub repo). Departures, stated: the fit
is maximum likelihood by Newton's method (a 1e-12 ridge keeps it finite when one side always wins), where
AlpacaEval uses scikit-learn's L1 LogisticRegressionCV; and without AlpacaEval's annotations of "gamed"
baselines the fit is not regularised towards them (AlpacaEval's `length_controlled_noreg` does the same).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import stdev
from typing import Any

RIDGE = 1e-12
DRAW = 1.5


def win_rate(preferences: Sequence[float | None]) -> dict[str, Any]:
    """win_rate, standard_error (both percent), n_wins, n_wins_base, n_draws, n_total, discrete_win_rate."""
    kept = [p for p in preferences if p is not None]
    shifted = [p - 1 for p in kept]
    discrete = [0.5 if p == DRAW else round(p) - 1 for p in kept]
    return {
        "win_rate": _mean(shifted, 100),
        "standard_error": _sem(shifted),
        "n_wins": sum(1 for p in shifted if p > 0.5),
        "n_wins_base": sum(1 for p in shifted if p < 0.5),
        "n_draws": sum(1 for p in kept if p == DRAW),
        "n_total": len(kept),
        "discrete_win_rate": _mean(discrete, 100),
    }


@dataclass(frozen=True)
class Comparison:
    """One judged pair: the preference (None when unreadable), both outputs' lengths, the instruction's
    difficulty."""

    preference: float | None
    model_length: int
    reference_length: int
    difficulty: float


def length_controlled_win_rate(comparisons: Sequence[Comparison]) -> float | None:
    """The GLM's win rate at equal lengths, in percent; None without a comparison that has a preference."""
    deltas = [float(c.reference_length - c.model_length) for c in comparisons]
    spread = stdev(deltas) if len(deltas) > 1 else 0.0
    features = [
        (math.tanh(d / spread) if spread > 0 else 0.0, c.difficulty, 1.0)
        for d, c in zip(deltas, comparisons, strict=True)
    ]
    training = [
        (x, c.preference - 1) for x, c in zip(features, comparisons, strict=True) if c.preference is not None
    ]
    if not training:
        return None
    weights = fit_logistic([x for x, _ in training], [y for _, y in training])
    predicted = [_sigmoid(weights[1] * difficulty + weights[2]) for _, difficulty, _ in features]
    return 100 * sum(predicted) / len(predicted)


def fit_logistic(x: Sequence[Sequence[float]], y: Sequence[float], iterations: int = 200) -> list[float]:
    """Weights (no intercept) minimising the log loss with soft labels y in [0, 1], plus RIDGE/2 |w|^2."""
    size = len(x[0])
    weights = [0.0] * size
    for _ in range(iterations):
        gradient = [RIDGE * w for w in weights]
        hessian = [[RIDGE if i == j else 0.0 for j in range(size)] for i in range(size)]
        for row, target in zip(x, y, strict=True):
            p = _sigmoid(_dot(weights, row))
            for i in range(size):
                gradient[i] += (p - target) * row[i]
                for j in range(size):
                    hessian[i][j] += p * (1 - p) * row[i] * row[j]
        step = _solve(hessian, gradient)
        loss = _loss(weights, x, y)
        while True:  # halve the step until the loss does not rise (Newton can overshoot near separation)
            trial = [w - s for w, s in zip(weights, step, strict=True)]
            if _loss(trial, x, y) <= loss or max(abs(s) for s in step) < 1e-12:
                break
            step = [s / 2 for s in step]
        weights = trial
        if max(abs(s) for s in step) < 1e-12:
            break
    return weights


def _loss(weights: Sequence[float], x: Sequence[Sequence[float]], y: Sequence[float]) -> float:
    total = RIDGE * _dot(weights, weights) / 2
    for row, target in zip(x, y, strict=True):
        z = _dot(weights, row)
        total += _softplus(z) - target * z  # -[y log s(z) + (1 - y) log(1 - s(z))]
    return total


def _softplus(z: float) -> float:
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the matrix is small and positive definite)."""
    n = len(vector)
    a = [[*row, b] for row, b in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    solution = [0.0] * n
    for r in range(n - 1, -1, -1):
        solution[r] = (a[r][n] - sum(a[r][c] * solution[c] for c in range(r + 1, n))) / a[r][r]
    return solution


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _mean(values: Sequence[float], scale: float) -> float | None:
    return scale * sum(values) / len(values) if values else None


def _sem(values: Sequence[float]) -> float | None:
    return 100 * stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
