"""mt_bench against FastChat's MT-Bench code, read at lm-sys/FastChat tag v0.2.36 (commit
b21d0f780ca4472a13714262a0790f2ee1ade659), fastchat/llm_judge/:

- common.py: `one_score_pattern` / `one_score_pattern_backup`, `run_judge_single` (the first pattern's first
  match, else the backup's; `ast.literal_eval` of the group; score -1 without a match), `NEED_REF_CATS`,
  `temperature_config`, and chat_completion_openai (temperature 0, max_tokens 2048 for the judge; on failure
  the text "$ERROR$");
- gen_judgment.py `make_judge_single` and its main: which prompt grades which turn of which category;
- show_result.py `display_result_single`: rows with score -1 dropped, then the mean per (model, turn) for
  "First turn" / "Second turn" and per model over every remaining row for "Average";
- data/judge_prompts.jsonl: the four single-answer prompts (pinned here by the SHA-256 of their text).

The reference's rules are restated below in this file's own code (never imported: FastChat is not a
dependency) and compared with evalclient's on varied inputs; where FastChat has no value (it raises), the
test says what evalclient does instead.
"""

from __future__ import annotations

import ast
import hashlib
import re
from typing import Any

import pandas as pd
import pytest

from evalclient.client.completion import Completion, ErrorKind, RequestError
from evalclient.client.requests import ChatRequest, RequestKind, Sampling
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.context import JudgeItem, Judgment
from evalclient.tasks.mt_bench import (
    JUDGE_SAMPLING,
    RATING,
    RATING_BACKUP,
    judge_items,
    judged_metrics,
    parse_rating,
    sampling_for,
)
from evalclient.tasks.mt_bench_prompts import NEED_REFERENCE, PROMPTS

# common.py v0.2.36 writes these as plain (non-raw) string literals; "\[" and "\d" are not escapes Python
# knows, so the pattern text is the same as these raw strings.
FASTCHAT_ONE_SCORE = r"\[\[(\d+\.?\d*)\]\]"
FASTCHAT_ONE_SCORE_BACKUP = r"\[(\d+\.?\d*)\]"
FASTCHAT_TEMPERATURES = {  # common.py temperature_config, v0.2.36
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
    "arena-hard-200": 0.0,
}
FASTCHAT_NEED_REF_CATS = ["math", "reasoning", "coding", "arena-hard-200"]
MT_BENCH_CATEGORIES = (
    "writing",
    "roleplay",
    "reasoning",
    "math",
    "coding",
    "extraction",
    "stem",
    "humanities",
)
"""The categories of data/mt_bench/question.jsonl at v0.2.36 (10 questions each)."""
PROMPT_SHA256 = {  # sha256(system_prompt + "\0" + prompt_template) of data/judge_prompts.jsonl, v0.2.36
    "single-v1": "7d276fe1d4b3f18f09cee44c27895d39be8ee425fdb364476fa66171dc5c5180",
    "single-math-v1": "226191a3df0fe7a9bc4c09ff94caefec3a8dc2ee418df85210c1080932bb0122",
    "single-v1-multi-turn": "a91a5b4266b4e3774f6408c1b0b05de1202843b72b58925710a9efa56b3fa636",
    "single-math-v1-multi-turn": "572e5843611206971e4b74650e66420ea57fef99e1f59d180c5e64e8442eb9b3",
}
API_ERROR_OUTPUT = "$ERROR$"


def fastchat_score(judgment: str) -> Any:
    """The score run_judge_single records for a judgment with output_format "[[rating]]": the group of the
    first `[[n]]` match, else of the first `[n]` match, through ast.literal_eval (which may raise); -1 when
    neither pattern matches."""
    found = re.search(FASTCHAT_ONE_SCORE, judgment)
    if found is None:
        found = re.search(FASTCHAT_ONE_SCORE_BACKUP, judgment)
    if found is None:
        return -1
    return ast.literal_eval(found.groups()[0])


def test_the_patterns_are_fastchats() -> None:
    """common.py v0.2.36 `one_score_pattern` and `one_score_pattern_backup`, no flags."""
    assert (RATING.pattern, RATING.flags) == (FASTCHAT_ONE_SCORE, re.UNICODE)
    assert (RATING_BACKUP.pattern, RATING_BACKUP.flags) == (FASTCHAT_ONE_SCORE_BACKUP, re.UNICODE)


@pytest.mark.parametrize(
    ("judgment", "score"),
    [
        ("The answer is helpful. Rating: [[8]]", 8),
        ("Rating: [[7.5]]", 7.5),
        ("Rating: [[8.]]", 8.0),
        ("[[10]]", 10),
        ("Rating: [[11]]", 11),  # no clamping to 1-10
        ("Rating: [[0]]", 0),
        ("Rating: [[00]]", 0),  # literal_eval accepts an all-zero integer
        ("Rating: [[08.5]]", 8.5),  # and leading zeros in a float
        ("Rating: [[9]].", 9),
        ("I give it [6] of ten.", 6),  # the backup pattern
        ("[5] at first, then [[8]] on reflection", 8),  # `[[n]]` anywhere wins over an earlier `[n]`
        ("Between [[3]] and [[9]]: [[3]]", 3),  # the first match
        ("As [1] and [2] show, 7/10", 1),  # the backup takes a citation mark for a rating
        ("Rating: [[ 7 ]]", -1),
        ("Rating: [[-3]]", -1),
        ("Rating: [[8/10]]", -1),
        ("Rating: [[8.5.1]]", -1),
        ("Rating: [[.5]]", -1),
        ("Rating: [[1e3]]", -1),
        ("Rating: 8/10", -1),
        ("Rating: [[eight]]", -1),
        (API_ERROR_OUTPUT, -1),  # what chat_completion_openai returns after its last failed try
        ("", -1),
    ],
)
def test_ratings_are_read_as_run_judge_single_reads_them(judgment: str, score: float) -> None:
    """common.py v0.2.36 run_judge_single: the expected score is written by hand from its rule, and the
    rule restated above gives it too; evalclient gives the same number, None where FastChat records -1."""
    assert fastchat_score(judgment) == score
    assert parse_rating(judgment) == (None if score == -1 else float(score))


@pytest.mark.parametrize(
    "judgment", ["Rating: [[07]]", "Rating: [[0008]]", "Rating: [[٣]]", "Rating: [[８]]"]
)
def test_a_number_literal_eval_rejects_is_unparseable(judgment: str) -> None:
    """common.py v0.2.36 run_judge_single raises here (ast.literal_eval: leading zeros in an integer, digits
    `\\d` matches that are not ASCII), so gen_judgment.py writes no row for it and show_result never sees
    it; evalclient records the judgment as unparseable, which keeps it out of the means as well."""
    with pytest.raises(SyntaxError):
        fastchat_score(judgment)
    assert parse_rating(judgment) is None


def _judgment(key: str, turn: int, category: str, text: str | None) -> Judgment:
    item = JudgeItem(
        key,
        key.split("/")[0],
        ChatRequest(f"judge:{key}", ({"role": "user", "content": "q"},), JUDGE_SAMPLING),
        {"turn": turn, "category": category, "prompt": "single-v1"},
    )
    completion = Completion(item.key, RequestKind.CHAT, text or "")
    if text is None:  # the judge request failed after its retries
        completion.error = RequestError(ErrorKind.HTTP_5XX, "unavailable", 503)
    return Judgment(item, completion)


# (model, question_id, category, turn, judgment text; None: the judge request failed)
JUDGMENTS: list[tuple[str, int, str, int, str | None]] = [
    ("model_a", 81, "writing", 1, "Fine. Rating: [[8]]"),
    ("model_a", 81, "writing", 2, "Rating: [[5]]"),
    ("model_a", 101, "reasoning", 1, "Correct. [[6]]"),
    ("model_a", 101, "reasoning", 2, "no rating given"),
    ("model_a", 111, "math", 1, "Wrong, see [2]. Rating: [[9.5]]"),
    ("model_a", 111, "math", 2, "Rating: [[ 7 ]]"),
    ("model_a", 121, "coding", 1, None),
    ("model_a", 121, "coding", 2, "I would say [3]"),
    ("model_b", 81, "writing", 1, "Rating: [[10]]"),
    ("model_b", 81, "writing", 2, "Rating: [[2]]"),
    ("model_b", 101, "reasoning", 1, "Rating: [[4]]"),
    ("model_b", 101, "reasoning", 2, None),
    ("model_b", 111, "math", 1, "[[07]] is not a rating FastChat can read"),
]


def _show_result_single(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """show_result.py v0.2.36 display_result_single on the judgment rows, restated: keep model, score and
    turn, drop score -1, then the mean score per (model, turn) and per model."""
    frame = pd.DataFrame(rows)[["model", "score", "turn"]]
    frame = frame[frame["score"] != -1]
    by_turn = frame.groupby(["model", "turn"])["score"].mean()
    overall = frame[["model", "score"]].groupby("model")["score"].mean()
    return {
        str(model): {
            "first turn": float(by_turn[(model, 1)]),
            "second turn": float(by_turn[(model, 2)]),
            "average": float(overall[model]),
        }
        for model in overall.index
    }


def test_the_means_are_show_results_first_turn_second_turn_and_average() -> None:
    """show_result.py v0.2.36 display_result_single over the rows gen_judgment.py v0.2.36 would write: a
    judgment with no rating scores -1, a failed judge request scores -1 too (its text is "$ERROR$"), and a
    rating literal_eval cannot read leaves no row (FastChat raises there)."""
    rows = []
    for model, question, category, turn, text in JUDGMENTS:
        judgment = API_ERROR_OUTPUT if text is None else text
        try:
            score = fastchat_score(judgment)
        except SyntaxError:
            continue
        rows.append(
            {"model": model, "question_id": question, "category": category, "turn": turn, "score": score}
        )
    reference = _show_result_single(rows)
    assert reference == {  # by hand: a [8, 6, 9.5] and [5, 3]; b [10, 4] and [2]
        "model_a": {"first turn": 23.5 / 3, "second turn": 4.0, "average": 6.3},
        "model_b": {"first turn": 7.0, "second turn": 2.0, "average": 16 / 3},
    }
    for model, expected in reference.items():
        judgments = [
            _judgment(f"{question}/turn{turn}", turn, category, text)
            for name, question, category, turn, text in JUDGMENTS
            if name == model
        ]
        metrics, _ = judged_metrics(judgments)
        assert metrics["mt_bench_score_turn1"] == pytest.approx(expected["first turn"])
        assert metrics["mt_bench_score_turn2"] == pytest.approx(expected["second turn"])
        assert metrics["mt_bench_score"] == pytest.approx(expected["average"])
    # "Average" is over rows, not the mean of the two turn means (model_a: 6.3, not 5.9167)
    assert reference["model_a"]["average"] != pytest.approx(
        (reference["model_a"]["first turn"] + reference["model_a"]["second turn"]) / 2
    )


def test_unrated_and_failed_judgments_are_counted_apart() -> None:
    """What show_result.py v0.2.36 drops as score -1 is counted here: unparseable judgments (no rating, or
    one FastChat cannot read) and failed judge requests (left out of the judgments, `incomplete`)."""
    judgments = [_judgment(f"{q}/turn{t}", t, c, x) for m, q, c, t, x in JUDGMENTS if m == "model_a"]
    metrics, per_sample = judged_metrics(judgments)
    assert (metrics["num_ratings"], metrics["num_judgments_unparseable"]) == (5, 2)
    assert per_sample["101"]["ratings"] == {"1": 6.0, "2": None}
    assert per_sample["121"]["ratings"] == {"2": 3.0}  # turn 1's judge request failed
    judgments = [_judgment(f"{q}/turn{t}", t, c, x) for m, q, c, t, x in JUDGMENTS if m == "model_b"]
    metrics, _ = judged_metrics(judgments)
    assert (metrics["num_ratings"], metrics["num_judgments_unparseable"]) == (3, 1)


@pytest.mark.parametrize("category", MT_BENCH_CATEGORIES)
def test_answers_use_fastchats_temperature_and_token_budget(category: str) -> None:
    """gen_api_answer.py v0.2.36 get_answer: temperature_config[category] (0.7 for a category it lacks),
    `--max-tokens` 1024 by default."""
    assert sampling_for(category) == Sampling(max_tokens=1024, temperature=FASTCHAT_TEMPERATURES[category])


def test_an_unknown_category_gets_fastchats_default_temperature() -> None:
    """gen_api_answer.py v0.2.36 get_answer: `else: temperature = 0.7`."""
    assert sampling_for("poetry").temperature == 0.7


def test_the_judge_prompts_are_fastchats_word_for_word() -> None:
    """data/judge_prompts.jsonl v0.2.36: system_prompt and prompt_template of the four single-answer prompts
    (hashes computed from the file at the tag), chosen as make_judge_single does: default / math for turn 1,
    default-mt / math-mt for turn 2."""
    for prompt in PROMPTS.values():
        text = prompt.system + "\0" + prompt.template
        assert hashlib.sha256(text.encode()).hexdigest() == PROMPT_SHA256[prompt.name], prompt.name
    assert {key: prompt.name for key, prompt in PROMPTS.items()} == {
        (False, False): "single-v1",
        (True, False): "single-math-v1",
        (False, True): "single-v1-multi-turn",
        (True, True): "single-math-v1-multi-turn",
    }


@pytest.mark.parametrize("category", MT_BENCH_CATEGORIES)
def test_each_category_is_judged_with_the_prompt_and_fields_fastchat_uses(category: str) -> None:
    """gen_judgment.py v0.2.36 main: questions whose category is in NEED_REF_CATS are judged with the math
    judges and the reference answer; common.py run_judge_single fills the template (turn 1: question,
    answer, ref_answer_1; turn 2: question_1/2, answer_1/2, ref_answer_1/2) and sends the system prompt and
    that user message at temperature 0 with 2048 tokens."""
    assert set(FASTCHAT_NEED_REF_CATS) & set(MT_BENCH_CATEGORIES) == NEED_REFERENCE
    reference_based = category in FASTCHAT_NEED_REF_CATS
    row: dict[str, Any] = {"prompt_id": 1, "prompt": ["Q1 {x}?", "Q2?"], "category": category}
    if reference_based:
        row["reference_answer"] = ["R1.", "R2."]
    answers = ["A1 {y}.", "A2."]
    output = SampleOutput("1", [Completion(f"1/turn{i}", RequestKind.CHAT, a) for i, a in enumerate(answers)])
    items = judge_items(Sample("1", row), output)
    single = {"question": row["prompt"][0], "answer": answers[0]}
    multi = {
        "question_1": row["prompt"][0],
        "question_2": row["prompt"][1],
        "answer_1": answers[0],
        "answer_2": answers[1],
    }
    if reference_based:
        single["ref_answer_1"] = "R1."
        multi.update(ref_answer_1="R1.", ref_answer_2="R2.")
    expected = [
        (PROMPTS[(reference_based, False)], single),
        (PROMPTS[(reference_based, True)], multi),
    ]
    assert len(items) == 2
    for item, (prompt, fields) in zip(items, expected, strict=True):
        assert item.meta["prompt"] == prompt.name
        assert item.request.messages == (
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.template.format(**fields)},
        )
        assert (item.request.sampling.temperature, item.request.sampling.max_tokens) == (0.0, 2048)
