"""Dataset selectors with options — `mmlu:0shot`, `arc_challenge:generative`, `codet5:java`, `bfcl:prompt` —
and the multiple-choice mode chosen per engine: log-likelihood where the engine serves prompt logprobs,
generative otherwise, unless the selector or `--mc-mode` says which. Other tasks with modes (bfcl) run in
their default mode unless the selector names another, or the engine returns one tool call per turn and the
task names a mode for that (bfcl: prompt, whose parallel categories need several calls in one answer).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from evalclient.client.requests import RequestKind
from evalclient.errors import UsageError
from evalclient.tasks.base import GENERATIVE_MODE, LOGLIKELIHOOD_MODE, TaskOptions, TaskSpec
from evalclient.tasks.registry import get_task

MC_MODES = ("auto", LOGLIKELIHOOD_MODE, GENERATIVE_MODE)
_SHOTS = re.compile(r"(\d+)shot")


def parse_selector(selector: str) -> tuple[str, TaskOptions]:
    """`name[:option...]` → (dataset name, options); options are a mode, `<n>shot`, or a dataset config."""
    name, *parts = selector.strip().split(":")
    task = get_task(name)
    mode: str | None = None
    shots: int | None = None
    config: str | None = None
    for part in (p.strip() for p in parts if p.strip()):
        shot = _SHOTS.fullmatch(part)
        if part in (LOGLIKELIHOOD_MODE, GENERATIVE_MODE) or part in task.modes:
            mode = part
        elif shot:
            shots = int(shot.group(1))
        elif config is None:
            config = part
        else:
            raise UsageError(f"dataset selector {selector!r}: too many options", "e.g. mmlu:generative:0shot")
    return task.name, TaskOptions(mode, shots, config)


def configured_task(
    name: str, options: TaskOptions, *, engine_kinds: Collection[RequestKind], mc_mode: str = "auto"
) -> TaskSpec:
    """The task as it will run on an engine serving `engine_kinds` (UsageError for options it lacks)."""
    task = get_task(name)
    if mc_mode not in MC_MODES:
        raise UsageError(f"--mc-mode {mc_mode!r} is not one of {', '.join(MC_MODES)}")
    mode = options.mode
    if mode is not None and mode not in task.modes:
        offered = f"modes: {', '.join(task.modes)}" if task.modes else "it has no modes"
        raise UsageError(f"{name} has no mode {mode!r}", offered)
    if mode is None and is_multiple_choice(task):
        if mc_mode != "auto":
            mode = mc_mode
        else:
            served = RequestKind.LOGLIKELIHOOD in engine_kinds
            mode = LOGLIKELIHOOD_MODE if served else GENERATIVE_MODE
    return task.with_options(TaskOptions(mode, options.num_fewshot, options.config))


def configured_for_engine(
    name: str,
    options: TaskOptions,
    *,
    engine: str,
    engine_kinds: Collection[RequestKind],
    tool_calls_per_turn: int | None,
    mc_mode: str = "auto",
) -> tuple[TaskSpec, str | None]:
    """The task as it runs on `engine`, and a note where the engine's limits chose or constrain its mode."""
    task = get_task(name)
    single = tool_calls_per_turn == 1 and task.single_call_mode is not None
    if single and options.mode is None:
        chosen = TaskOptions(task.single_call_mode, options.num_fewshot, options.config)
        note = (
            f"{name}: {task.single_call_mode} mode on {engine}, which returns one tool call per turn "
            "(its parallel categories need several)"
        )
        return configured_task(name, chosen, engine_kinds=engine_kinds, mc_mode=mc_mode), note
    spec = configured_task(name, options, engine_kinds=engine_kinds, mc_mode=mc_mode)
    if single and spec.mode != task.single_call_mode:
        return spec, (
            f"{name}:{spec.mode} on {engine}: one tool call per turn, so the answers that need several "
            "(parallel categories) cannot pass"
        )
    return spec, None


def is_multiple_choice(task: TaskSpec) -> bool:
    """Whether the task runs by log-likelihood or generatively (the modes `--mc-mode` chooses between)."""
    return LOGLIKELIHOOD_MODE in task.modes and GENERATIVE_MODE in task.modes
