r"""MT-Bench: 80 two-turn questions; the second turn is asked after the model's own first answer, and a judge
grades each turn 1-10 with FastChat's single-answer prompts (reference-guided for math, reasoning, coding).

Checked against FastChat v0.2.36 (lm-sys/FastChat, tag v0.2.36 = commit b21d0f78), fastchat/llm_judge/:

- answers as gen_api_answer.py generates them: the category's temperature (common.py `temperature_config`,
  0.7 for a category it lacks), `--max-tokens` 1024, turn 2 asked after the model's own turn-1 answer;
- judging as common.py `run_judge_single` and gen_judgment.py `make_judge_single` do: `single-v1` /
  `single-math-v1` for turn 1 and their `-multi-turn` prompts for turn 2, the math prompts for the
  categories in `NEED_REF_CATS`, temperature 0 and 2048 tokens for an OpenAI judge;
- the rating: the first match of `one_score_pattern` `\[\[(\d+\.?\d*)\]\]`, else of
  `one_score_pattern_backup` `\[(\d+\.?\d*)\]`, read with `ast.literal_eval`; no match gives score -1;
- the means as show_result.py `display_result_single` prints them: rows with score -1 dropped, then
  "First turn" = the mean over turn-1 rows (`mt_bench_score_turn1`), "Second turn" = over turn-2 rows
  (`mt_bench_score_turn2`) and "Average" = over all remaining rows of both turns (`mt_bench_score`; not the
  mean of the two turn means).

Where this differs (tests/unit/test_reference_mt_bench.py records it): a judgment without a rating is counted
in `num_judgments_unparseable` and left out of the means, as show_result leaves out score -1; a matched
number `ast.literal_eval` cannot read (`[[07]]`, non-ASCII digits) makes FastChat's run_judge_single raise,
so that judgment never reaches show_result: here it is unparseable too. A judge request is retried as the
judge's client retries (retryable failures only, 1 + `max_retries` = 6 attempts by default, backing off),
not as FastChat's chat_completion_openai (`API_MAX_RETRY` = 16 tries on any OpenAIError, `API_RETRY_SLEEP`
= 10 s apart); one that still fails is not stored, marks the score `incomplete` and is left out of the
means, as FastChat's "$ERROR$" judgment scores -1 and show_result drops it. A failed answer is not judged
(counted in `num_unjudged_answers`); FastChat would judge its "$ERROR$" text. `mt_bench_category_scores`
(means by category) and `response_quality_score` (`mt_bench_score` / 10) are this suite's, not
show_result's.

Rows are in the hub schema (HuggingFaceH4/mt_bench_prompts: prompt_id, prompt = [turn 1, turn 2], category);
the judge phase adds `reference_answer` to the rows that need one (mt_bench_references.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, Message, RequestKind, Sampling
from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource, ModelHandle, Sample, SampleOutput, ScoreResult, TaskSpec
from evalclient.tasks.context import JudgeItem, Judgment, ScoreContext
from evalclient.tasks.judged import answered_text, judge_bookkeeping, pending
from evalclient.tasks.mt_bench_prompts import DEFAULT_TEMPERATURE, NEED_REFERENCE, PROMPTS, TEMPERATURES
from evalclient.tasks.mt_bench_references import HINT, fastchat_id
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.report_spec import Headline, ReportSpec

MAX_TOKENS = 1024
JUDGE_SAMPLING = Sampling(max_tokens=2048, temperature=0.0)
"""FastChat's judge call: temperature 0, 2048 tokens."""
RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]")
"""FastChat's `one_score_pattern` (common.py, v0.2.36)."""
RATING_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")
"""FastChat's `one_score_pattern_backup`, tried when the first finds nothing."""
HEADLINE = ("mt_bench_score", "mt_bench_score_turn1", "mt_bench_score_turn2", "mt_bench_category_scores")
TURNS = 2


def sampling_for(category: str) -> Sampling:
    """FastChat's temperature for the category (0.7 for any other), 1024 tokens."""
    return Sampling(max_tokens=MAX_TOKENS, temperature=TEMPERATURES.get(category, DEFAULT_TEMPERATURE))


def questions(row: Mapping[str, Any]) -> list[str]:
    turns = row.get("prompt")
    if not isinstance(turns, list | tuple) or len(turns) != TURNS:
        raise DatasetError(
            f"mt_bench row {row.get('prompt_id')!r}: `prompt` must hold the two turns",
            "give rows in the HuggingFaceH4/mt_bench_prompts schema",
        )
    return [str(t) for t in turns]


async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
    """Turn 1, then turn 2 after the model's own first answer (reasoning left out); stops at a failure."""
    sampling = sampling_for(str(sample.row["category"]))
    messages: list[Message] = []
    completions: list[Completion] = []
    for number, question in enumerate(questions(sample.row), 1):
        messages.append({"role": "user", "content": question})
        completion = await model.chat(ChatRequest(f"{sample.id}/turn{number}", tuple(messages), sampling))
        completions.append(completion)
        if not completion.ok:
            break
        messages.append({"role": "assistant", "content": completion.answer})
    return completions


def parse_rating(judgment: str) -> float | None:
    """The rating in `[[n]]`, else in `[n]` (the first match), read as FastChat reads it (`ast.literal_eval`);
    None when there is neither, or when `ast.literal_eval` rejects the number (where FastChat raises)."""
    match = RATING.search(judgment) or RATING_BACKUP.search(judgment)
    if match is None:
        return None
    try:
        value = ast.literal_eval(match.group(1))
    except (SyntaxError, ValueError):
        return None
    return float(value)


def judge_items(sample: Sample, output: SampleOutput | None) -> list[JudgeItem]:
    """One item per answered turn; DatasetError when a reference-graded row has no reference answer."""
    row = sample.row
    category = str(row["category"])
    turns = questions(row)
    answers = [answered_text(output, i) for i in range(TURNS)]
    reference_based = category in NEED_REFERENCE
    reference: Sequence[str] = ()
    if reference_based:
        reference = row.get("reference_answer") or ()
        if len(reference) < TURNS:
            raise DatasetError(
                f"mt_bench question {sample.id} ({category}) is graded against a reference answer and "
                "none was found",
                HINT,
            )
    items = []
    for turn in range(1, TURNS + 1):
        if any(a is None for a in answers[:turn]):
            break
        prompt = PROMPTS[(reference_based, turn > 1)]
        fields = {
            "question": turns[0],
            "answer": answers[0],
            "question_1": turns[0],
            "question_2": turns[1],
            "answer_1": answers[0],
            "answer_2": answers[1],
            "ref_answer_1": reference[0] if reference else "",
            "ref_answer_2": reference[1] if reference else "",
        }
        messages = (
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.template.format(**fields)},
        )
        meta = {"turn": turn, "category": category, "prompt": prompt.name, "question_id": fastchat_id(row)}
        request = ChatRequest(f"judge:{sample.id}/turn{turn}", messages, JUDGE_SAMPLING, stream=False)
        items.append(JudgeItem(f"{sample.id}/turn{turn}", sample.id, request, meta))
    return items


def judged_metrics(judgments: Sequence[Judgment]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The MT-Bench means over the rated turns, and each sample's ratings by turn."""
    rated: list[tuple[int, str, float]] = []
    unparseable = 0
    per_sample: dict[str, dict[str, Any]] = {}
    for judgment in judgments:
        if judgment.completion.error is not None:
            continue
        item = judgment.item
        rating = parse_rating(judgment.completion.answer)
        verdict = per_sample.setdefault(item.sample_id, {"ratings": {}, "judge_prompts": {}})
        verdict["ratings"][str(item.meta["turn"])] = rating
        verdict["judge_prompts"][str(item.meta["turn"])] = item.meta["prompt"]
        if rating is None:
            unparseable += 1
        else:
            rated.append((int(item.meta["turn"]), str(item.meta["category"]), rating))
    score = _mean([r for _, _, r in rated])
    categories = sorted({c for _, c, _ in rated})
    metrics: dict[str, Any] = {
        "mt_bench_score": score,
        "mt_bench_score_turn1": _mean([r for t, _, r in rated if t == 1]),
        "mt_bench_score_turn2": _mean([r for t, _, r in rated if t == 2]),
        "mt_bench_category_scores": {c: _mean([r for _, k, r in rated if k == c]) for c in categories},
        "num_ratings": len(rated),
        "num_judgments_unparseable": unparseable,
        "response_quality_score": None if score is None else score / 10,
    }
    return metrics, per_sample


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


async def score(
    samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], ctx: ScoreContext
) -> ScoreResult:
    """Pending without a judge; with one, every answered turn graded (stored judgments reused)."""
    if ctx.judge is None:
        return pending(samples, outputs, HEADLINE)
    items = [item for s in samples for item in judge_items(s, outputs.get(s.id))]
    judgments = await ctx.judge.grade(items)
    metrics, per_sample = judged_metrics(judgments)
    unjudged = TURNS * len(samples) - len(items)
    metrics.update(judge_bookkeeping(ctx.judge, judgments, unjudged))
    metrics.update(answer_quality(samples, outputs, {}))
    return ScoreResult(metrics=metrics, per_sample=per_sample)


MT_BENCH = TaskSpec(
    name="mt_bench",
    family="instruction_following",
    # The hub copy names FastChat's question_id `prompt_id` (a hash of the turns: mt_bench_references.py).
    source=HubSource(
        "HuggingFaceH4/mt_bench_prompts",
        None,
        "train",
        "e3a795c5e9a82ee40611c416b8a7786c73198991",
        files=(("train", ("data/train-00000-of-00001-67c6c9fef07685a3.parquet",)),),
        rows=(("train", 80),),
        cited="the repository at e3a795c: data/train-…parquet (80 prompts: prompt, prompt_id, category, "
        "reference) beside raw/question.jsonl; its README declares no configs, so the file is named",
    ),
    required_fields=("prompt_id", "prompt", "category"),
    id_field="prompt_id",
    solver=solve,
    scorer=score,
    request_kinds=frozenset({RequestKind.CHAT}),
    sampling=Sampling(max_tokens=MAX_TOKENS, temperature=DEFAULT_TEMPERATURE),
    description=(
        "80 two-turn questions (160 turns), FastChat's per-category temperatures (0.7 shown: writing, "
        "roleplay and unknown categories); graded 1-10 per turn by a judge (`evalclient judge`)"
    ),
    report=ReportSpec((Headline("mt_bench_score", "mean_rating", binary=False, scale=10.0),), "conversation"),
)
