"""`evalclient score`: score stored answers offline against the dataset's rows (DESIGN §3).

Predictions are JSONL, one object per sample: `{"id": ..., "response": "..."}` (function-calling tasks may
give `"tool_calls"`, in OpenAI's shape `{"id", "type", "function": {"name", "arguments": "<JSON>"}}` or as
`{"name", "arguments": {...}}`, and evalclient's own predictions files carry the full `completions`, which
log-likelihood tasks need). Each line becomes the sample's output as if the server had just sent it.

A task's mode, unless the selector names it, follows the predictions: a multiple-choice task is scored by
log-likelihood when they hold log-likelihood completions, else generatively; bfcl natively when any answer
holds a tool call (or Qwen's `<tool_call>` markup), else in prompt mode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalclient.client.completion import Completion, RequestError, ToolCall
from evalclient.client.requests import RequestKind
from evalclient.client.tool_calls import parsed_tool_call
from evalclient.errors import DatasetError, UsageError
from evalclient.results.atomic import atomic_write_jsonl
from evalclient.results.prediction import PredictionRow
from evalclient.tasks.base import (
    GENERATIVE_MODE,
    LOGLIKELIHOOD_MODE,
    NATIVE_TOOLS_MODE,
    PROMPT_TOOLS_MODE,
    SampleOutput,
    ScoreResult,
    TaskOptions,
    TaskSpec,
)
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.manager import DatasetManager
from evalclient.tasks.options import configured_task, is_multiple_choice, parse_selector
from evalclient.tasks.registry import get_task

LINE_SHAPE = '{"id": ..., "response": "..."} (or "tool_calls": [...]) per line'


def read_predictions(path: Path) -> dict[str, SampleOutput]:
    """Each line's output keyed by id; errors name the file and line. A repeated id is an error (which of
    two answers counts is not for the scorer to guess), and so is a file without one prediction."""
    outputs: dict[str, SampleOutput] = {}
    first_line: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = _parse_line(path, number, line)
        if "id" not in row:
            raise DatasetError(f"{path}: line {number} has no 'id'", LINE_SHAPE)
        sample_id = str(row["id"])
        if sample_id in first_line:
            raise DatasetError(
                f"{path}: line {number} repeats id {sample_id!r} (first on line {first_line[sample_id]})",
                "keep one answer per id",
            )
        first_line[sample_id] = number
        try:
            outputs[sample_id] = prediction_output(row)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{path}: line {number}: {exc}", LINE_SHAPE) from None
    if not outputs:
        raise DatasetError(f"{path} holds no predictions: there is nothing to score", LINE_SHAPE)
    return outputs


def prediction_output(row: Mapping[str, Any]) -> SampleOutput:
    """A predictions line as a SampleOutput: its stored completions (evalclient's own file), else one built
    from response."""
    sample_id = str(row["id"])
    if isinstance(row.get("completions"), list):
        return SampleOutput.from_prediction(PredictionRow.from_dict(row))
    response = row.get("response")
    if response is not None and not isinstance(response, str):
        raise ValueError("'response' must be a string")
    calls = row.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ValueError("'tool_calls' must be a list")
    completion = Completion(
        sample_id,
        RequestKind.CHAT,
        text=response or "",
        reasoning=row.get("reasoning"),
        tool_calls=[_tool_call(c) for c in calls],
        finish_reason=row.get("finish_reason"),
    )
    error = row.get("error")
    if response is None and not calls:
        error = error or {"kind": "malformed", "message": "no response stored"}
    if isinstance(error, dict):
        completion.error = RequestError.from_dict(error)
    elif isinstance(error, str):
        completion.error = RequestError.from_dict({"kind": "malformed", "message": error})
    return SampleOutput(sample_id, [completion])


def _tool_call(call: Any) -> ToolCall:
    """OpenAI's shape, evalclient's stored shape, or {"name", "arguments"}; arguments that are not JSON are
    kept with their parse error (the scorer decides what that costs)."""
    if not isinstance(call, dict):
        raise ValueError("each tool call must be an object")
    if "function" in call:  # OpenAI's shape
        function = call["function"]
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError("a tool call's 'function' needs a 'name'")
        return parsed_tool_call(function["name"], function.get("arguments", {}), call.get("id"))
    if not isinstance(call.get("name"), str):
        raise ValueError("each tool call needs a 'name'")
    if "arguments_text" in call:
        return ToolCall.from_dict(call)
    return parsed_tool_call(call["name"], call.get("arguments", {}), call.get("id"))


def _parse_line(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: line {number} is not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DatasetError(f"{path}: line {number} is not a JSON object")
    return row


async def score_predictions(
    dataset: str,
    predictions: Path,
    data_file: Path | None,
    cache_dir: Path | None = None,
    context: ScoreContext | None = None,
) -> ScoreResult:
    """Score every prediction whose id is a sample of the dataset; unknown ids are an error. The metrics say
    how much of the dataset the predictions cover (`num_scored` of `num_dataset_samples`, `coverage`): a
    score over 2 of 12 samples is not a score of the dataset. Code datasets need `context` to carry the
    sandbox the caller chose (the `score` command passes the sweep's)."""
    outputs = read_predictions(predictions)
    task = _task_for(dataset, outputs)
    if task.scorer is None:
        raise UsageError(f"{task.name} has no scorer yet")
    manager = DatasetManager(
        data_file.parent if data_file else None,
        cache_dir,
        data_files={task.name: data_file} if data_file else None,
    )
    every = manager.get_evaluation_samples(task, None)
    samples = [s for s in every if s.id in outputs]
    unknown = sorted(set(outputs) - {s.id for s in samples})
    if unknown:
        raise DatasetError(
            f"{predictions}: {len(unknown)} id(s) are not in {task.name}, e.g. {', '.join(unknown[:3])}",
            "ids are the dataset's own id field, else the 0-based row index",
        )
    result = await task.scorer(samples, outputs, context or ScoreContext())
    result.metrics.update(num_scored=len(samples), num_dataset_samples=len(every))
    result.metrics["coverage"] = len(samples) / len(every)
    return result


def _task_for(selector: str, outputs: Mapping[str, SampleOutput]) -> TaskSpec:
    """The task as the predictions were made: a multiple-choice task's mode, unless the selector names it,
    follows the predictions (log-likelihood completions, or text answers)."""
    name, options = parse_selector(selector)
    task = get_task(name)
    if options.mode is None and is_multiple_choice(task):
        kinds = {c.kind for o in outputs.values() for c in o.completions}
        mode = LOGLIKELIHOOD_MODE if RequestKind.LOGLIKELIHOOD in kinds else GENERATIVE_MODE
        options = TaskOptions(mode, options.num_fewshot, options.config)
    elif options.mode is None and NATIVE_TOOLS_MODE in task.modes:
        completions = [c for o in outputs.values() for c in o.completions]
        native = any(c.tool_calls or "<tool_call>" in c.text for c in completions)
        mode = NATIVE_TOOLS_MODE if native else PROMPT_TOOLS_MODE
        options = TaskOptions(mode, options.num_fewshot, options.config)
    return configured_task(name, options, engine_kinds=set(RequestKind))


def write_verdicts(path: Path, result: ScoreResult) -> None:
    """The per-sample verdicts, one JSON object per line: {"id": ..., <verdict fields>}."""
    atomic_write_jsonl(path, [{"id": sample_id, **v} for sample_id, v in result.per_sample.items()])
