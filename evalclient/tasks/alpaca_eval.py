"""AlpacaEval: 805 instructions answered in one turn; a judge compares each answer with the reference output
of the hub data (its `generator`, text_davinci_003 in alpaca_eval.json) with AlpacaEval's default annotator
prompt (alpaca_eval_prompt.py), and the win rate is AlpacaEval's (win_rate.py).

The two outputs are shown in a random order, seeded by the instruction as AlpacaEval seeds it, and recorded
with each judgment. The preference comes from the judge's logprobs of its one answer token where the
endpoint returns them (P(model's identifier) / (P(m) + P(M)), AlpacaEval's weighted annotator), else from
the token it answered (`m` or `M`), else it is unreadable and left out. An answer identical to the reference
is a draw (1.5) without asking the judge, as AlpacaEval does. The judge phase adds `instruction_difficulty`
to each row when AlpacaEval's difficulty data is given; without it the length-controlled win rate is null
and `length_controlled_unavailable` says why.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, RequestKind, Sampling
from evalclient.tasks.alpaca_eval_prompt import FIRST, SECOND, SYSTEM, TOP_LOGPROBS, user_prompt
from evalclient.tasks.base import HubSource, ModelHandle, Sample, SampleOutput, ScoreResult, TaskSpec
from evalclient.tasks.context import JudgeItem, Judgment, ScoreContext
from evalclient.tasks.judged import answered_text, judge_bookkeeping, pending
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.text import ask
from evalclient.tasks.win_rate import Comparison, length_controlled_win_rate, win_rate

SAMPLING = Sampling(max_tokens=2048)
JUDGE_SAMPLING = Sampling(max_tokens=1, temperature=0.0)
"""One token, greedy (AlpacaEval sends temperature 1, which changes neither logprobs nor, here, the answer
token used when there are no logprobs)."""
ORDER_SEED = 0
HEADLINE = ("win_rate", "length_controlled_win_rate")
DIFFICULTY_HINT = (
    "AlpacaEval's instruction difficulty data was not given: pass --instruction-difficulty with "
    "instruction_difficulty.csv of the tatsu-lab/alpaca_eval hub dataset, or put it in the --data-dir as "
    "alpaca_eval.instruction_difficulty.csv (`evalclient datasets fetch` downloads it)"
)


async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
    return await ask(model, sample.id, str(sample.row["instruction"]), SAMPLING)


def model_first(instruction: str) -> bool:
    """Whether the model's output is shown first (`m`): a coin seeded by the instruction."""
    return random.Random(f"is_switched_outputs:{ORDER_SEED}:{instruction}").random() < 0.5


def judge_item(sample: Sample, answer: str) -> JudgeItem:
    """The comparison of `answer` with the row's reference output, in the sample's order."""
    instruction, reference = str(sample.row["instruction"]), str(sample.row["output"])
    first = model_first(instruction)
    output_1, output_2 = (answer, reference) if first else (reference, answer)
    messages = (
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user_prompt(instruction, output_1, output_2)},
    )
    request = ChatRequest(f"judge:{sample.id}", messages, JUDGE_SAMPLING, stream=False, logprobs=TOP_LOGPROBS)
    meta = {"order": "model_first" if first else "reference_first", "generator": sample.row.get("generator")}
    return JudgeItem(sample.id, sample.id, request, meta)


def first_probability(completion: Completion) -> float | None:
    """P(m) / (P(m) + P(M)) from the first generated token's top logprobs; None when neither is there."""
    if not completion.logprobs or not completion.logprobs[0].top:
        return None
    found: dict[str, list[float]] = {}
    for token, logprob in completion.logprobs[0].top:
        if token.strip() in (FIRST, SECOND):
            found.setdefault(token.strip(), []).append(logprob)
    if not found:
        return None
    first, second = (_logsumexp(found.get(t, [])) for t in (FIRST, SECOND))
    return 1 / (1 + math.exp(second - first)) if first > -math.inf else 0.0


def preference(completion: Completion, first_is_model: bool) -> tuple[float | None, str]:
    """AlpacaEval's preference (1: the reference wins, 2: the model's answer wins) and where it came from."""
    p_first = first_probability(completion)
    source = "logprobs"
    if p_first is None:
        token = completion.answer.strip()
        p_first = 1.0 if token == FIRST else 0.0 if token == SECOND else None
        source = "answer_token" if p_first is not None else "unreadable"
    if p_first is None:
        return None, source
    return 1 + (p_first if first_is_model else 1 - p_first), source


async def score(
    samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], ctx: ScoreContext
) -> ScoreResult:
    """Pending without a judge; with one, each answer compared with the reference (stored ones reused)."""
    if ctx.judge is None:
        return pending(samples, outputs, HEADLINE)
    answers = {s.id: answered_text(outputs.get(s.id), 0) for s in samples}
    judged = [s for s in samples if answers[s.id] is not None]
    items = [judge_item(s, str(answers[s.id])) for s in judged if answers[s.id] != str(s.row["output"])]
    judgments = {j.item.sample_id: j for j in await ctx.judge.grade(items)}
    per_sample: dict[str, dict[str, Any]] = {}
    comparisons: list[Comparison] = []
    for sample in judged:
        verdict = _verdict(sample, judgments.get(sample.id))
        if verdict is None:
            continue
        per_sample[sample.id] = verdict
        comparisons.append(
            Comparison(
                verdict["preference"],
                len(str(answers[sample.id])),
                len(str(sample.row["output"])),
                float(sample.row.get("instruction_difficulty") or 0.0),
            )
        )
    metrics = _metrics(judged, per_sample, comparisons)
    metrics.update(judge_bookkeeping(ctx.judge, list(judgments.values()), len(samples) - len(judged)))
    metrics.update(answer_quality(samples, outputs, {}))
    return ScoreResult(metrics=metrics, per_sample=per_sample)


def _verdict(sample: Sample, judgment: Judgment | None) -> dict[str, Any] | None:
    if judgment is None:  # the answer is the reference itself
        return {"preference": 1.5, "source": "identical_outputs", "order": None}
    if judgment.completion.error is not None:
        return None
    first = judgment.item.meta["order"] == "model_first"
    value, source = preference(judgment.completion, first)
    return {"preference": value, "source": source, "order": judgment.item.meta["order"]}


def _metrics(
    judged: Sequence[Sample], per_sample: Mapping[str, Mapping[str, Any]], comparisons: Sequence[Comparison]
) -> dict[str, Any]:
    metrics = win_rate([v["preference"] for v in per_sample.values()])
    rate = metrics["win_rate"]
    sources: dict[str, int] = {}
    for verdict in per_sample.values():
        sources[verdict["source"]] = sources.get(verdict["source"], 0) + 1
    has_difficulty = all(s.row.get("instruction_difficulty") is not None for s in judged)
    lc = length_controlled_win_rate(comparisons) if has_difficulty else None
    metrics.update(
        length_controlled_win_rate=lc,
        length_controlled_unavailable=None if has_difficulty else DIFFICULTY_HINT,
        response_quality_score=None if rate is None else rate / 100,
        preference_sources=dict(sorted(sources.items())),
        num_preferences_unreadable=sources.get("unreadable", 0),
        baseline=sorted({str(s.row.get("generator")) for s in judged if s.row.get("generator")}),
        order_seed=ORDER_SEED,
    )
    return metrics


def _logsumexp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


ALPACA_EVAL = TaskSpec(
    name="alpaca_eval",
    family="instruction_following",
    # The repo's loading script no longer runs under datasets>=4; its data file loads directly.
    source=HubSource("tatsu-lab/alpaca_eval", None, "train", "main", data_files="alpaca_eval.json"),
    required_fields=("instruction", "output"),
    solver=solve,
    scorer=score,
    request_kinds=frozenset({RequestKind.CHAT}),
    sampling=SAMPLING,
    description="805 instructions; a judge compares each answer with the reference output (win rate, LC)",
)
