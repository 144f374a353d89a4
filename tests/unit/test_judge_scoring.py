"""Reading the judge: MT-Bench ratings and AlpacaEval preferences from varied (and malformed) judge outputs,
and the win-rate and length-controlled arithmetic on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from evalclient.client.completion import Completion, TokenLogprob
from evalclient.client.requests import RequestKind
from evalclient.tasks.alpaca_eval import first_probability, preference
from evalclient.tasks.mt_bench import parse_rating
from evalclient.tasks.win_rate import Comparison, length_controlled_win_rate, win_rate


@pytest.mark.parametrize(
    ("judgment", "rating"),
    [
        ("Helpful and correct. Rating: [[8]]", 8.0),
        ("Rating: [[7.5]]", 7.5),
        ("[[10]]", 10.0),
        ("I give it [6] of ten.", 6.0),  # FastChat's fallback pattern
        ("Between [[3]] and [[9]]: [[3]]", 3.0),  # the first match, as re.search
        ("[5] at first, then [[8]] on reflection", 8.0),  # `[[n]]` wins over an earlier `[n]`
        ("Rating: [[8.]]", 8.0),
        ("Rating: 8/10", None),
        ("Rating: [[eight]]", None),
        ("Rating: [[-3]]", None),
        ("", None),
        ("[[ 7 ]]", None),
    ],
)
def test_mt_bench_rating_extraction(judgment: str, rating: float | None) -> None:
    assert parse_rating(judgment) == rating


def _judged(text: str, top: tuple[tuple[str, float], ...] | None = None) -> Completion:
    completion = Completion("judge:0", RequestKind.CHAT, text)
    if top is not None:
        completion.logprobs = [TokenLogprob(text, top[0][1] if top else -0.1, None, top)]
    return completion


LN = math.log


@pytest.mark.parametrize(
    ("completion", "first_is_model", "expected"),
    [
        (_judged("m", (("m", LN(0.9)), ("M", LN(0.1)))), True, (1.9, "logprobs")),
        (_judged("m", (("m", LN(0.9)), ("M", LN(0.1)))), False, (1.1, "logprobs")),
        (_judged("M", (("M", LN(0.6)), ("m", LN(0.2)), ("Both", LN(0.2)))), True, (1.25, "logprobs")),
        (_judged("M", (("M", LN(0.5)), ("The", LN(0.5)))), False, (2.0, "logprobs")),  # m missing: P 0
        (_judged("m", (("m", LN(0.3)), (" m", LN(0.3)), ("M", LN(0.4)))), True, (1.6, "logprobs")),
        (_judged("m", (("The", -0.1), ("Both", -2.0))), True, (2.0, "answer_token")),  # neither listed
        (_judged("M"), True, (1.0, "answer_token")),  # no logprobs at all
        (_judged(" m\n"), False, (1.0, "answer_token")),
        (_judged("m", ()), False, (1.0, "answer_token")),
        (_judged("Model m is better"), True, (None, "unreadable")),
        (_judged(""), True, (None, "unreadable")),
        (_judged("A"), False, (None, "unreadable")),
    ],
)
def test_alpaca_eval_preference_extraction(
    completion: Completion, first_is_model: bool, expected: tuple[float | None, str]
) -> None:
    value, source = preference(completion, first_is_model)
    assert (value if value is None else pytest.approx(value, abs=1e-12), source) == expected


def test_first_probability_is_the_share_of_m_among_m_and_M() -> None:
    assert first_probability(_judged("m", (("m", LN(0.2)), ("M", LN(0.2))))) == pytest.approx(0.5)
    assert first_probability(_judged("m", (("m", -0.01),))) == 1.0
    assert first_probability(_judged("x", (("x", -0.01),))) is None


def test_win_rate_counts_a_draw_as_half_and_drops_unreadable_preferences() -> None:
    # shifted preferences 1, 0, 0.5, 0.75: mean 0.5625; discrete (rounded) 1, 0, 0.5, 1: 0.625
    assert win_rate([2.0, 1.0, 1.5, 1.75, None]) == {
        "win_rate": 56.25,
        "standard_error": pytest.approx(100 * math.sqrt(0.546875 / 3 / 4)),  # squared deviations: 0.546875
        "n_wins": 2,
        "n_wins_base": 1,
        "n_draws": 1,
        "n_total": 4,
        "discrete_win_rate": 62.5,
    }


def test_win_rate_of_nothing_and_of_one() -> None:
    assert win_rate([None])["win_rate"] is None
    one = win_rate([1.25])
    assert (one["win_rate"], one["standard_error"], one["n_total"]) == (25.0, None, 1)


def test_length_controlled_win_rate_with_two_length_groups() -> None:
    # Saturated fit: sigma(w*t + b) = 0.8 where the model is shorter, 0.5 where it is longer; at equal
    # length the prediction is sigma(b) with b = (logit 0.8 + logit 0.5) / 2 = ln 2, so 2/3.
    comparisons = [Comparison(1.8, 10, 20, 0.0), Comparison(1.5, 20, 10, 0.0)]
    assert length_controlled_win_rate(comparisons) == pytest.approx(200 / 3, abs=1e-6)
    assert win_rate([c.preference for c in comparisons])["win_rate"] == 65.0


def test_length_controlled_win_rate_with_instruction_difficulty() -> None:
    # Three patterns, three weights: w*t + b = ln 4 (p .8), -w*t + b = 0 (p .5), w_d + b = ln 9 (p .9).
    # So b = ln 2 and w_d = ln 4.5; at equal length: 2/3, 2/3 and sigma(ln 9) = 0.9.
    comparisons = [Comparison(1.8, 10, 20, 0.0), Comparison(1.5, 20, 10, 0.0), Comparison(1.9, 15, 15, 1.0)]
    assert length_controlled_win_rate(comparisons) == pytest.approx(100 * (2 / 3 + 2 / 3 + 0.9) / 3, abs=1e-6)


def test_length_controlled_win_rate_predicts_unreadable_comparisons_too() -> None:
    # AlpacaEval fits on the readable preferences and averages its predictions over every comparison.
    comparisons = [Comparison(1.8, 10, 20, 0.0), Comparison(1.5, 20, 10, 0.0), Comparison(None, 7, 7, 0.0)]
    assert length_controlled_win_rate(comparisons) == pytest.approx(200 / 3, abs=1e-6)
    assert length_controlled_win_rate([Comparison(None, 1, 2, 0.0)]) is None


def test_length_controlled_win_rate_when_the_model_always_wins_stays_finite() -> None:
    comparisons = [Comparison(2.0, 10, 20, 0.0), Comparison(2.0, 20, 10, 0.0), Comparison(2.0, 5, 5, 1.0)]
    assert length_controlled_win_rate(comparisons) == pytest.approx(100, abs=1e-6)
