"""AlpacaEval's win rate and its length-controlled win rate, computed as the alpaca_eval package computes them
(alpaca_eval 0.6.6: metrics/winrate.py and metrics/glm_winrate.py, read at tatsu-lab/alpaca_eval cd543a1).

A preference is in [1, 2]: 1 the baseline's output wins, 2 the model's wins, 1.5 a draw (continuous values
come from the judge's logprobs). The win rate is the mean of `preference - 1` in percent, so a draw counts
0.5; `discrete_win_rate` rounds each preference first. Preferences that are None (no preference could be
read) are dropped.

The length-controlled win rate (`length_controlled_winrate`, the GLM `length_controlled_v1`) fits a logistic
regression of `preference - 1` on `tanh(std_delta_len)`, `instruction_difficulty` and `not_gamed_baseline`
(no intercept), where `std_delta_len` is (baseline length - model length) in characters over its standard
deviation (ddof 1, over every compared instruction), trained on the model's comparisons (weight 1) together
with AlpacaEval's annotations of two "gamed" baselines, GPT-4 Turbo asked to be verbose or concise
(`df_gamed.csv` of the tatsu-lab/alpaca_eval hub dataset, weight 0.2 / 2 each), which also give each
instruction's difficulty. Labels are soft (each row twice, label 1 weighted by p and label 0 by 1 - p, kept in
one fold), and the fit is scikit-learn's L1 `LogisticRegressionCV` (liblinear, 10 values of C, 5 group
folds, scored by the soft log loss, random_state 123). It then predicts each comparison with the length
difference set to 0 and averages (`lc_standard_error`: the predictions' standard error). One departure, for
subsets: AlpacaEval looks an instruction's difficulty up by the annotation's row position, which is the
instruction's index only when all 805 are compared; here it is looked up by the instruction's index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import stdev
from typing import Any

DRAW = 1.5
GAMED_WEIGHT = 0.2 / 2
"""AlpacaEval's regularize_to_baseline_lambda, shared by its two gamed baselines."""
RANDOM_STATE = 123
FOLDS = 5


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
    """One judged pair: the preference (None when unreadable), both outputs' lengths in characters, the
    instruction's difficulty."""

    preference: float | None
    model_length: int
    reference_length: int
    difficulty: float


@dataclass(frozen=True)
class GamedRow:
    """One row of AlpacaEval's df_gamed.csv: the instruction's 0-based index, a gamed baseline's preference in
    [0, 1], its standardised length difference and the instruction's difficulty."""

    index: int
    preference: float
    std_delta_len: float
    difficulty: float


def length_controlled_winrate(
    comparisons: Sequence[Comparison], gamed: Sequence[GamedRow]
) -> tuple[float | None, float | None]:
    """(length_controlled_winrate, lc_standard_error), both percent; (None, None) without a comparison that
    has a preference, or without the gamed rows the GLM is regularised with."""
    if not gamed or not any(c.preference is not None for c in comparisons):
        return None, None
    import numpy as np

    deltas = [float(c.reference_length - c.model_length) for c in comparisons]
    spread = stdev(deltas) if len(deltas) > 1 else math.nan
    rows = [(g.std_delta_len, g.difficulty, 0.0, g.preference, GAMED_WEIGHT) for g in gamed]
    rows += [
        (d / spread, c.difficulty, 1.0, _unit(c.preference), 1.0)
        for d, c in zip(deltas, comparisons, strict=True)
        if c.preference is not None
    ]
    x = np.array([[math.tanh(r[0]), r[1], r[2]] for r in rows])
    model = _fit(x, np.array([r[3] for r in rows]), np.array([r[4] for r in rows]))
    test = np.array([[0.0, c.difficulty, 1.0] for c in comparisons])
    predicted = model.predict_proba(test)[:, 1]
    error = float(np.std(predicted, ddof=1) / math.sqrt(len(predicted))) * 100 if len(predicted) > 1 else None
    return float(predicted.mean()) * 100, error


def _unit(preference: float) -> float:
    """A preference as AlpacaEval's GLM reads it: in [0, 1], a stored 0 counted as a draw."""
    return (DRAW if preference == 0.0 else preference) - 1


def _fit(x: Any, p: Any, weights: Any) -> Any:
    """L1 logistic regression with soft labels `p` and row weights, as alpaca_eval's fit_LogisticRegressionCV
    does it: each row once with label 1 (weight p) and once with label 0 (weight 1 - p), the two in one group
    of GroupKFold, the folds scored by the log loss against the soft labels."""
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    both = np.concatenate([x, x])
    true_prob = np.concatenate([p, 1 - p])
    true_weight = np.concatenate([weights, weights])
    labels = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    groups = np.concatenate([np.arange(len(p)), np.arange(len(p))])
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(
            _soft_log_loss, response_method="predict_proba", greater_is_better=False
        ).set_score_request(true_sample_weight=True, true_prob=True)
        model = LogisticRegressionCV(
            cv=GroupKFold(n_splits=FOLDS),
            scoring=scorer,
            l1_ratios=(1.0,),
            solver="liblinear",
            fit_intercept=False,
            random_state=RANDOM_STATE,
            use_legacy_attributes=False,
        )
        model.set_fit_request(sample_weight=True)
        model.fit(
            both,
            labels,
            sample_weight=true_prob * true_weight,
            groups=groups,
            true_sample_weight=true_weight,
            true_prob=true_prob,
        )
    return model


def _soft_log_loss(y_true: Any, y_pred: Any, true_prob: Any, true_sample_weight: Any = None) -> float:
    """The weighted mean log loss of predictions against the soft labels (each row's label 1 or 0 read back
    as the probability it stands for)."""
    import numpy as np

    target = np.where(y_true == 1, true_prob, 1 - true_prob)
    clipped = np.clip(y_pred, 1e-15, 1 - 1e-15)
    losses = target * np.log(clipped) + (1 - target) * np.log(1 - clipped)
    if true_sample_weight is not None:
        losses = losses * true_sample_weight
    return float(-np.mean(losses))


def _mean(values: Sequence[float], scale: float) -> float | None:
    return scale * sum(values) / len(values) if values else None


def _sem(values: Sequence[float]) -> float | None:
    return 100 * stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
