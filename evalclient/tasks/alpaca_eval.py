"""AlpacaEval: 805 instructions answered in one turn; a judge compares each answer with a baseline's output
for the same instruction, and the win rate is AlpacaEval's (win_rate.py).

Two settings, each under its own name and recorded with every result (`alpaca_eval_version`, `annotator`,
`baseline`), both read from the tatsu-lab/alpaca_eval hub dataset at a pinned commit (its JSON files by name:
the repository's loading script alpaca_eval.py is never run):

- `alpaca_eval` — AlpacaEval 2.0, what its leaderboard reports: the baseline is GPT-4 Turbo
  (`alpaca_eval_gpt4_baseline.json`, generator gpt4_1106_preview), the annotator
  `weighted_alpaca_eval_gpt4_turbo` (alpaca_eval_prompt.py: one token, `m` or `M`, the preference read from
  its logprobs: 2 - P(m) / (P(m) + P(M))), and the length-controlled win rate (`length_controlled_winrate`),
  which needs AlpacaEval's `df_gamed.csv` (the judge phase joins it; without it the figure is null and
  `length_controlled_unavailable` says why).
- `alpaca_eval_v1` — AlpacaEval 1: the baseline text_davinci_003 (`alpaca_eval.json`), the annotator
  `alpaca_eval_gpt4` (a ranking of `model_1` and `model_2` as a Python list, max 100 tokens, temperature 0),
  the win rate only.

As AlpacaEval does: output_1 is the baseline's and output_2 the model's, swapped for the judge where
`random.Random("is_switched_outputs" + instruction + "0").choices([False, True])` says so (the preference
is switched back); an answer identical to the baseline's is a draw (1.5) without asking the judge.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, RequestKind, Sampling
from evalclient.errors import DatasetError
from evalclient.tasks.alpaca_eval_prompt import (
    CLF_TEMPLATE,
    FIRST,
    SECOND,
    TOP_LOGPROBS,
    V1_TEMPLATE,
    judge_messages,
)
from evalclient.tasks.base import HubSource, ModelHandle, Sample, SampleOutput, ScoreResult, TaskSpec
from evalclient.tasks.context import JudgeItem, Judgment, ScoreContext
from evalclient.tasks.judged import answered_text, judge_bookkeeping, pending
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.report_spec import Headline, ReportSpec
from evalclient.tasks.text import ask
from evalclient.tasks.win_rate import Comparison, GamedRow, length_controlled_winrate, win_rate

REVISION = "2edc6fad8be6b14ea7230aabfd08188da6b8b814"
"""tatsu-lab/alpaca_eval's main ("Fix FileNotFoundError (#2)"), pinned beside alpaca_eval 0.6.6 by a harness
that checked alpaca_eval_gpt4_baseline.json there: 805 rows, SHA-256 83db546b…41ec4."""
SAMPLING = Sampling(max_tokens=2048)
ORDER_SEED = 0
GAMED_FILE = "df_gamed.csv"
LC_HINT = (
    "AlpacaEval's gamed-baseline annotations were not given: put df_gamed.csv of the tatsu-lab/alpaca_eval "
    "hub "
    "dataset in the --data-dir as alpaca_eval.df_gamed.csv, or pass it with --alpaca-gamed "
    "(`evalclient datasets fetch` downloads it)"
)


@dataclass(frozen=True)
class Setting:
    """One AlpacaEval setting: its baseline outputs, its annotator and whether it has a length-controlled
    win rate."""

    version: str
    baseline_file: str
    baseline: str
    annotator: str
    template: str
    judge_sampling: Sampling
    logprobs: int | None
    length_controlled: bool


V2 = Setting(
    "2.0",
    "alpaca_eval_gpt4_baseline.json",
    "gpt4_1106_preview",
    "weighted_alpaca_eval_gpt4_turbo",
    CLF_TEMPLATE,
    # one token; AlpacaEval sends temperature 1, which changes neither the logprobs read nor, here, the answer
    # token read where there are none
    Sampling(max_tokens=1, temperature=0.0),
    TOP_LOGPROBS,
    True,
)
V1 = Setting(
    "1",
    "alpaca_eval.json",
    "text_davinci_003",
    "alpaca_eval_gpt4",
    V1_TEMPLATE,
    Sampling(max_tokens=100, temperature=0.0),
    None,
    False,
)
HEADLINE = ("win_rate", "length_controlled_winrate")


async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
    return await ask(model, sample.id, str(sample.row["instruction"]), SAMPLING)


def switched(instruction: str) -> bool:
    """Whether the judge sees the outputs swapped (the model's first), as AlpacaEval's
    RandomSwitchTwoColumnsProcessor draws it for `instruction` with seed 0."""
    return random.Random(f"is_switched_outputs{instruction}{ORDER_SEED}").choices([False, True], k=1)[0]


def judge_item(sample: Sample, answer: str, setting: Setting = V2) -> JudgeItem:
    """The comparison of `answer` with the row's baseline output, in the order the judge sees them."""
    instruction, baseline = str(sample.row["instruction"]), str(sample.row["output"])
    swap = switched(instruction)
    output_1, output_2 = (answer, baseline) if swap else (baseline, answer)
    messages = judge_messages(setting.template, instruction, output_1, output_2)
    request = ChatRequest(
        f"judge:{sample.id}", messages, setting.judge_sampling, stream=False, logprobs=setting.logprobs
    )
    meta = {"order": "model_first" if swap else "baseline_first", "generator": sample.row.get("generator")}
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


def preference(completion: Completion, swap: bool, setting: Setting = V2) -> tuple[float | None, str]:
    """AlpacaEval's preference (1: the baseline wins, 2: the model's answer wins), switched back where the
    judge saw the model's output first, and where it came from."""
    seen, source = _seen_preference(completion, setting)
    if seen is None:
        return None, source
    return (3 - seen if swap else seen), source


def _seen_preference(completion: Completion, setting: Setting) -> tuple[float | None, str]:
    """The preference in the order the judge saw the outputs (1: the first, 2: the second)."""
    if setting is V1:
        rank = ranking(completion.answer)
        return (None, "unreadable") if rank is None else (float(rank), "ranking")
    p_first = first_probability(completion)
    if p_first is not None:
        return 2 - p_first, "logprobs"
    token = completion.answer.strip()
    if token in (FIRST, SECOND):
        return (1.0 if token == FIRST else 2.0), "answer_token"
    return None, "unreadable"


def ranking(answer: str) -> int | None:
    """model_1's rank in an `alpaca_eval_gpt4` answer (a Python list of {'model', 'rank'}), as AlpacaEval's
    ranking_parser reads it; None when it is not one (AlpacaEval: NaN)."""
    try:
        ranked = ast.literal_eval(answer.strip())
        rank = next(item["rank"] for item in ranked if item["model"] == "model_1")
    except (ValueError, SyntaxError, TypeError, KeyError, StopIteration, MemoryError, RecursionError):
        return None
    return rank if rank in (1, 2) else None


async def score(
    samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], ctx: ScoreContext
) -> ScoreResult:
    return await _score(samples, outputs, ctx, V2)


async def score_v1(
    samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], ctx: ScoreContext
) -> ScoreResult:
    return await _score(samples, outputs, ctx, V1)


async def _score(
    samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], ctx: ScoreContext, setting: Setting
) -> ScoreResult:
    """Pending without a judge; with one, each answer compared with the baseline's (stored ones reused)."""
    if ctx.judge is None:
        return pending(samples, outputs, HEADLINE if setting.length_controlled else HEADLINE[:1])
    answers = {s.id: answered_text(outputs.get(s.id), 0) for s in samples}
    judged = [s for s in samples if answers[s.id] is not None]
    items = [
        judge_item(s, str(answers[s.id]), setting) for s in judged if answers[s.id] != str(s.row["output"])
    ]
    judgments = {j.item.sample_id: j for j in await ctx.judge.grade(items)}
    per_sample: dict[str, dict[str, Any]] = {}
    comparisons: list[Comparison] = []
    for sample in judged:
        verdict = _verdict(judgments.get(sample.id), setting)
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
    metrics = _metrics(judged, answers, per_sample, comparisons, setting, ctx.data.get(GAMED_FILE))
    metrics.update(judge_bookkeeping(ctx.judge, list(judgments.values()), len(samples) - len(judged)))
    metrics.update(answer_quality(samples, outputs, {}))
    return ScoreResult(metrics=metrics, per_sample=per_sample)


def _verdict(judgment: Judgment | None, setting: Setting) -> dict[str, Any] | None:
    """The sample's preference, where it came from, the order the judge saw, and `win`: the sample's share
    of the win rate in its units (preference - 1, in percent; the reports' paired comparisons read it)."""
    if judgment is None:  # the answer is the baseline's output itself
        return {"preference": 1.5, "source": "identical_outputs", "order": None, "win": 50.0}
    if judgment.completion.error is not None:
        return None
    order = judgment.item.meta["order"]
    value, source = preference(judgment.completion, order == "model_first", setting)
    win = None if value is None else (value - 1) * 100
    return {"preference": value, "source": source, "order": order, "win": win}


def _metrics(
    judged: Sequence[Sample],
    answers: Mapping[str, str | None],
    per_sample: Mapping[str, Mapping[str, Any]],
    comparisons: Sequence[Comparison],
    setting: Setting,
    gamed: Sequence[GamedRow] | None,
) -> dict[str, Any]:
    metrics = win_rate([v["preference"] for v in per_sample.values()])
    rate = metrics["win_rate"]
    sources: dict[str, int] = {}
    for verdict in per_sample.values():
        sources[verdict["source"]] = sources.get(verdict["source"], 0) + 1
    lengths = [len(str(answers[s.id])) for s in judged]
    metrics.update(
        avg_length=int(sum(lengths) / len(lengths)) if lengths else None,
        response_quality_score=None if rate is None else rate / 100,
        preference_sources=dict(sorted(sources.items())),
        num_preferences_unreadable=sources.get("unreadable", 0),
        alpaca_eval_version=setting.version,
        annotator=setting.annotator,
        baseline=setting.baseline,
        order_seed=ORDER_SEED,
    )
    if setting.length_controlled:
        lc, error = length_controlled_winrate(comparisons, gamed or ())
        metrics.update(
            length_controlled_winrate=lc,
            lc_standard_error=error,
            length_controlled_unavailable=None if gamed else LC_HINT,
        )
    return metrics


def _logsumexp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def baseline_check(setting: Setting) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """The rows as they are, or DatasetError where they are another baseline's outputs (AlpacaEval 1's file
    given for 2.0, or the reverse: the win rate would be against the wrong model)."""

    def check(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        others = sorted({str(r.get("generator")) for r in rows} - {setting.baseline})
        if others:
            raise DatasetError(
                f"the AlpacaEval {setting.version} rows hold outputs of {', '.join(others)}, not of its "
                f"baseline {setting.baseline} ({setting.baseline_file})",
                "give that file (alpaca_eval is AlpacaEval 2.0, alpaca_eval_v1 AlpacaEval 1 with "
                "alpaca_eval.json)",
            )
        return rows

    return check


def _task(name: str, setting: Setting, description: str) -> TaskSpec:
    return TaskSpec(
        name=name,
        family="instruction_following",
        source=HubSource(
            "tatsu-lab/alpaca_eval",
            None,
            "eval",
            REVISION,
            files=(("eval", (setting.baseline_file,)),),
            rows=(("eval", 805),),
            cited=f"{setting.baseline_file} at the repository's root, beside its loading script "
            "alpaca_eval.py "
            "(never run); AlpacaEval's eval set is 805 instructions",
        ),
        required_fields=("instruction", "output", "generator"),
        solver=solve,
        scorer=score if setting is V2 else score_v1,
        request_kinds=frozenset({RequestKind.CHAT}),
        sampling=SAMPLING,
        description=description,
        prepare_rows=baseline_check(setting),
        report=ReportSpec((Headline("win_rate", "win", binary=False, scale=100.0),), "conversation"),
    )


ALPACA_EVAL = _task(
    "alpaca_eval",
    V2,
    "AlpacaEval 2.0: 805 instructions judged against GPT-4 Turbo's outputs (win rate, length-controlled win "
    "rate)",
)
ALPACA_EVAL_V1 = _task(
    "alpaca_eval_v1",
    V1,
    "AlpacaEval 1: 805 instructions judged against text_davinci_003's outputs (win rate)",
)
