"""Reading the judge: MT-Bench ratings and AlpacaEval preferences from varied (and malformed) judge outputs,
and AlpacaEval's win rate and length-controlled win rate checked against alpaca_eval 0.6.6 itself."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hub_standin.repos import gamed_csv
from reference_harness import alpaca_eval_length_controlled

from evalclient.client.completion import Completion, TokenLogprob
from evalclient.client.requests import RequestKind
from evalclient.errors import DatasetError
from evalclient.judge.data import gamed_rows, load_difficulty
from evalclient.report.headline import headline_of
from evalclient.tasks.alpaca_eval import ALPACA_EVAL, ALPACA_EVAL_V1, first_probability, preference
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.context import JudgeItem, Judgment, ScoreContext
from evalclient.tasks.mt_bench import parse_rating
from evalclient.tasks.win_rate import Comparison, length_controlled_winrate, win_rate


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
    ("completion", "swap", "expected"),
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
    completion: Completion, swap: bool, expected: tuple[float | None, str]
) -> None:
    # swap: the judge saw the model's output first (m), so its preference is switched back
    value, source = preference(completion, swap)
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


def _scenario(seed: int, count: int, keep: int, wins: bool = False) -> tuple[list[dict[str, Any]], bytes]:
    """`keep` of `count` instructions compared: AlpacaEval annotations (index, both outputs, a preference or
    NaN, every kind: a draw, near-draws, unreadable) and a df_gamed.csv over all `count`."""
    rng = random.Random(seed)
    annotations = []
    for index in sorted(rng.sample(range(count), keep)):
        roll = rng.random()
        preference = 2.0 if wins else (math.nan if roll < 0.1 else 1.5 if roll < 0.2 else 1 + rng.random())
        annotations.append(
            {
                "index": index,
                "output_1": "b" * rng.randint(20, 2000),
                "output_2": "m" * rng.randint(20, 2000),
                "preference": preference,
                "generator_1": "gpt4_1106_preview",
                "generator_2": "under_test",
                "annotator": "weighted_alpaca_eval_gpt4_turbo",
            }
        )
    return annotations, gamed_csv(count, rng)


@pytest.mark.parametrize(
    ("seed", "count", "keep", "wins"),
    [(1, 120, 120, False), (2, 300, 90, False), (3, 805, 200, False), (4, 60, 60, True)],
    ids=["all-compared", "a-subset", "alpaca-eval-size", "the-model-always-wins"],
)
def test_win_rate_and_length_controlled_winrate_are_alpaca_evals(
    tmp_path: Path, seed: int, count: int, keep: int, wins: bool
) -> None:
    annotations, gamed = _scenario(seed, count, keep, wins)
    path = tmp_path / "df_gamed.csv"
    path.write_bytes(gamed)
    expected = alpaca_eval_length_controlled(annotations, path)

    difficulty = load_difficulty(path)
    comparisons = [
        Comparison(
            None if math.isnan(a["preference"]) else a["preference"],
            len(a["output_2"]),
            len(a["output_1"]),
            difficulty[str(a["index"])],
        )
        for a in annotations
    ]
    got = win_rate([c.preference for c in comparisons])
    lc, error = length_controlled_winrate(comparisons, gamed_rows(path))

    assert lc == pytest.approx(expected["length_controlled_winrate"], abs=1e-9)
    assert error == pytest.approx(expected["lc_standard_error"], abs=1e-9)
    for name in ("win_rate", "standard_error", "discrete_win_rate"):
        assert got[name] == pytest.approx(expected[name], abs=1e-9), name
    for name in ("n_wins", "n_wins_base", "n_draws", "n_total"):
        assert got[name] == expected[name], name


def test_length_controlled_winrate_needs_the_gamed_rows_and_a_preference(tmp_path: Path) -> None:
    path = tmp_path / "df_gamed.csv"
    path.write_bytes(gamed_csv(3, random.Random(0)))
    assert length_controlled_winrate([Comparison(1.8, 10, 20, 0.0)], ()) == (None, None)
    assert length_controlled_winrate([Comparison(None, 10, 20, 0.0)], gamed_rows(path)) == (None, None)


class _RankingJudge:
    """Answers each AlpacaEval 1 item with a ranking that puts the model's answer first when it mentions
    `good`, whichever order the judge saw."""

    identity: dict[str, Any] = {"name": "scripted"}  # noqa: RUF012

    async def grade(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        judgments = []
        for item in items:
            model_is_1 = item.meta["order"] == "model_first"
            prompt = item.request.messages[1]["content"]
            model_wins = '"""good' in prompt
            first_rank = 1 if model_wins == model_is_1 else 2
            ranks = (("model_1", first_rank), ("model_2", 3 - first_rank))
            text = repr([{"model": model, "rank": rank} for model, rank in ranks])
            judgments.append(Judgment(item, Completion(item.key, RequestKind.CHAT, text)))
        return judgments


async def test_alpaca_eval_1_scores_rankings_under_its_own_name() -> None:
    rows = [
        {"instruction": f"Task {i}.", "output": f"davinci {i}", "generator": "text_davinci_003"}
        for i in range(4)
    ]
    samples = [Sample(str(i), row) for i, row in enumerate(rows)]
    answers = ["good answer", "bad answer", "good one", "davinci 3"]  # the last is the baseline's own
    outputs = {
        s.id: SampleOutput(s.id, [Completion(s.id, RequestKind.CHAT, a)])
        for s, a in zip(samples, answers, strict=True)
    }
    result = await ALPACA_EVAL_V1.scorer(samples, outputs, ScoreContext(judge=_RankingJudge()))  # type: ignore[misc]
    metrics = result.metrics
    # preferences 2, 1, 2 and a draw: shifted 1, 0, 1, 0.5
    assert (metrics["win_rate"], metrics["n_wins"], metrics["n_wins_base"], metrics["n_draws"]) == (
        62.5,
        2,
        1,
        1,
    )
    assert (metrics["alpaca_eval_version"], metrics["annotator"], metrics["baseline"]) == (
        "1",
        "alpaca_eval_gpt4",
        "text_davinci_003",
    )
    assert "length_controlled_winrate" not in metrics
    assert metrics["preference_sources"] == {"identical_outputs": 1, "ranking": 3}
    assert [result.per_sample[s.id]["win"] for s in samples] == [100.0, 0.0, 100.0, 50.0]
    headline = headline_of("alpaca_eval_v1", metrics)
    assert headline is not None
    assert headline.metric == "win_rate"


def test_each_alpaca_eval_setting_refuses_the_other_baselines_rows() -> None:
    davinci = [{"instruction": "x", "output": "y", "generator": "text_davinci_003"}]
    assert ALPACA_EVAL_V1.prepare_rows is not None
    assert ALPACA_EVAL.prepare_rows is not None
    assert ALPACA_EVAL_V1.prepare_rows(davinci) == davinci
    with pytest.raises(DatasetError) as refused:
        ALPACA_EVAL.prepare_rows(davinci)
    assert str(refused.value) == (
        "the AlpacaEval 2.0 rows hold outputs of text_davinci_003, not of its baseline gpt4_1106_preview "
        "(alpaca_eval_gpt4_baseline.json); give that file (alpaca_eval is AlpacaEval 2.0, alpaca_eval_v1 "
        "AlpacaEval 1 with alpaca_eval.json)"
    )
