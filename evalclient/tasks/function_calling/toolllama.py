"""toolllama: ToolBench's ToolLLaMA evaluation steps, scored without a judge against the gold step.

Each row is one step of a ToolBench trajectory (`toolllama_steps`): the model gets the gold history up to
that step (the system prompt listing the APIs, the query, earlier Thought/Action/Action Input turns and the
function results) and writes the next step. An answer that comes back as a tool call (Qwen's `<tool_call>`
markup, which the client reads) counts as the step it names. Metrics, over all samples (a failed request
or an answer naming no action counts as wrong):

- `api_name_accuracy`: the action is the gold step's API name; `reasoning_step_accuracy` is the same
  step-level number;
- `argument_key_f1`: the F1 of the answer's argument keys against the gold keys (0 for a wrong API name or
  an input that is not a JSON object; 1 when both have none);
- `argument_exact_match`: right API name and arguments equal to the gold ones (for Finish only its
  return_type is compared: the final answer is free text only a judge can grade); `accuracy` is this share;
- `finish_give_answer_rate`: over the steps whose gold action is Finish with give_answer, the share the
  model also ends with a Finish that ToolBench's runner accepts as a final answer (return_type give_answer
  and a final_answer, read as rapidapi.py `_step` reads it: toolllama_steps.py) (None without such steps);
- `function_calling_success_rate`: the share of answers that parse as an action with a JSON-object input.

These are step metrics given the gold history, this suite's own and named so, not ToolEval's pass rate or
win rate. ToolBench's own evaluation (OpenBMB/ToolBench at commit d56fdd89faf8c91fa135090b212bb9057ee5cfc2,
toolbench/tooleval/eval_pass_rate.py and eval_preference.py) grades whole trajectories the model ran
against live RapidAPI tools (toolbench/inference): a ChatGPT evaluator (by default
`tooleval_gpt-3.5-turbo_default`, evaluators/registered_cls/rtl.py on gpt-3.5-turbo-16k) judges each answer
several times (`--evaluate_times` 4; a judgment it is unsure of is labelled at random), and one whose final
step is not a Finish call is labelled "failed" ("No answer"); `pass_rate` is the share of queries with at
least as many "passed" labels as "failed" ones. It defines no step-level metric. Where this scorer's rules
touch ToolBench's code they are checked in tests/unit/test_reference_toolllama.py: the step reading
(toolbench/inference/utils.py `react_parser`; ours is more lenient, see toolllama_steps.py) and the Finish
rule (matched). An API name counts only when equal to the gold one; ToolBench's runner calls the first
function whose name ends with the action written.

Source: the hub mirror `tuandunghcmut/toolbench-v1` (config `default`, split `validation`, rows `id`,
`conversations` in ToolBench's format), a third-party copy not checked offline here; ToolBench's own
`toolllama_G123_dfs_eval.json` (from its data release) loads with `--data-file` in the same schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, RequestKind, Sampling
from evalclient.tasks.base import (
    HubSource,
    ModelHandle,
    Sample,
    SampleOutput,
    ScoreResult,
    TaskSpec,
    off_loop,
)
from evalclient.tasks.function_calling.toolllama_steps import (
    GIVE_ANSWER,
    Step,
    check_rows,
    gold_step,
    key_f1,
    parse_step,
    split_row,
)
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.report_spec import ACCURACY, ReportSpec

SOURCE = HubSource(
    "tuandunghcmut/toolbench-v1",
    "default",
    "validation",
    "main",
    files=(("validation", ("data/validation-00000-of-00001.parquet",)),),
    cited="a community mirror of ToolBench's ToolLLaMA conversations; its README's default config maps "
    "validation to data/validation-* (train is 4 shards, never read). No commit of it was found to pin and "
    "no row count to check: the first fetch locks main's commit (tasks/lock.py) and every later run reads "
    "that commit",
)
SAMPLING = Sampling(max_tokens=512)
NOTE = "judge-free step metrics given the gold history; not ToolEval's ChatGPT-judged pass rate"


async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
    history, _ = split_row(sample.row)
    return [await model.chat(ChatRequest(sample.id, history, SAMPLING))]


def predicted_step(completion: Completion) -> Step | None:
    """The step an answer writes, or the first tool call it makes."""
    if completion.tool_calls:
        call = completion.tool_calls[0]
        arguments = call.arguments if isinstance(call.arguments, dict) else None
        return Step(call.name, call.arguments_text, arguments)
    return parse_step(completion.answer)


def verdict(row: Mapping[str, Any], output: SampleOutput | None) -> dict[str, Any]:
    gold = gold_step(row)
    final = output.final if output is not None and output.ok else None
    step = None if final is None else predicted_step(final)
    name_ok = step is not None and step.action == gold.action
    keys = 0.0
    exact = False
    if name_ok and step is not None and step.arguments is not None:
        keys = key_f1(list(step.arguments), list(gold.arguments or {}))
        exact = _same_arguments(step, gold)
    return {
        "gold_action": gold.action,
        "predicted_action": None if step is None else step.action,
        "api_name_correct": name_ok,
        "argument_key_f1": keys,
        "argument_exact_match": exact,
        "gold_gives_answer": gold.is_finish and _return_type(gold) == GIVE_ANSWER,
        "gives_answer": step is not None and step.gives_answer,
        "correct": exact,
        "parsed": None if final is None else step is not None and step.arguments is not None,
    }


def _return_type(step: Step) -> Any:
    if step.arguments is not None:
        return step.arguments.get("return_type")
    return GIVE_ANSWER if '"return_type": "give_answer"' in step.action_input else None


def _same_arguments(step: Step, gold: Step) -> bool:
    if gold.is_finish:
        return bool(_return_type(step) == _return_type(gold))
    return bool(step.arguments == gold.arguments)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def score_now(samples: Sequence[Sample], outputs: Mapping[str, SampleOutput]) -> ScoreResult:
    verdicts = {s.id: verdict(s.row, outputs.get(s.id)) for s in samples}
    rows = list(verdicts.values())
    names = _mean([float(v["api_name_correct"]) for v in rows])
    finishing = [float(v["gives_answer"]) for v in rows if v["gold_gives_answer"]]
    metrics: dict[str, Any] = {
        "accuracy": _mean([float(v["argument_exact_match"]) for v in rows]),
        "api_name_accuracy": names,
        "reasoning_step_accuracy": names,
        "argument_key_f1": _mean([v["argument_key_f1"] for v in rows]),
        "argument_exact_match": _mean([float(v["argument_exact_match"]) for v in rows]),
        "finish_give_answer_rate": _mean(finishing),
        "num_gold_finish_steps": len(finishing),
        "function_calling_success_rate": _mean([float(bool(v["parsed"])) for v in rows]),
        "note": NOTE,
        **answer_quality(samples, outputs, verdicts),
    }
    return ScoreResult(metrics, verdicts)


TOOLLLAMA = TaskSpec(
    name="toolllama",
    family="function_calling",
    source=SOURCE,
    required_fields=("id", "conversations"),
    # ToolBench's `id` is "Step N: <query>", which names a step of a query and need not be unique per row: a
    # sample is its 0-based row in the split
    id_field=None,
    solver=solve,
    scorer=off_loop(score_now),
    request_kinds=frozenset({RequestKind.CHAT}),
    sampling=SAMPLING,
    description="ToolBench ToolLLaMA steps given the gold history; judge-free API-name and argument metrics",
    prepare_rows=check_rows,
    report=ReportSpec((ACCURACY,), "function calling"),
)
