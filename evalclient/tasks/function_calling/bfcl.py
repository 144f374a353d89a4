"""bfcl: the Berkeley Function Calling Leaderboard's non-live categories, scored by BFCL's AST checker.

Seven categories (simple_python, simple_java, simple_javascript, multiple, parallel, parallel_multiple,
irrelevance), sampled in proportion to their sizes. Two modes, recorded with the results:

- `native` (the default): the functions go to the chat API as `tools`, named with "_" for "."; the answer
  is the completion's tool calls (the engine's parser, or Qwen's `<tool_call>` markup in the text);
- `prompt` (`bfcl:prompt`): the functions in BFCL's system prompt, the answer written as
  `[func(a=1, b="x")]` and read with Python's `ast` (Java and JavaScript calls by their source text).

An answer is decoded (`bfcl_decode`), then checked against the row's possible answers (`bfcl_checker`); an
irrelevance row is right iff the answer makes no call. Each verdict names BFCL's error type (or
`unsupported_type` for a declared type BFCL's checker has no rule for: counted wrong). Metrics are
in `bfcl_metrics` (per-category accuracy, BFCL v4's non-live summary as `ast_accuracy`,
`function_calling_success_rate`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, RequestKind, Sampling
from evalclient.errors import UsageError
from evalclient.tasks.base import (
    NATIVE_TOOLS_MODE,
    PROMPT_TOOLS_MODE,
    ModelHandle,
    Sample,
    SampleOutput,
    ScoreResult,
    Solver,
    TaskOptions,
    TaskSpec,
    off_loop,
)
from evalclient.tasks.function_calling import bfcl_data
from evalclient.tasks.function_calling.bfcl_checker import check_answer, language_of
from evalclient.tasks.function_calling.bfcl_data import IRRELEVANCE
from evalclient.tasks.function_calling.bfcl_decode import (
    Decoded,
    DecodeError,
    decode_prompt_answer,
    decode_python,
    decode_tool_calls,
    has_calls,
    well_formed,
)
from evalclient.tasks.function_calling.bfcl_metrics import bfcl_metrics, summary_weights
from evalclient.tasks.function_calling.bfcl_prompts import hinted_functions, native_tools, prompt_messages
from evalclient.tasks.function_calling.bfcl_types import UnsupportedType
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.report_spec import ACCURACY, Headline, ReportSpec

MODES = (NATIVE_TOOLS_MODE, PROMPT_TOOLS_MODE)
SAMPLING = Sampling(max_tokens=1024)
DECODER_FAILED = "ast_decoder:decoder_failed"
WRONG_FORMAT = "ast_decoder:decoder_wrong_output_format"
CALLED_IRRELEVANT = "irrelevance_error:decoder_success"


def _solver(mode: str) -> Solver:
    async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
        row = sample.row
        functions = hinted_functions(row["function"], row["category"])
        messages = tuple(dict(m) for m in row["question"][0])
        if mode == NATIVE_TOOLS_MODE:
            request = ChatRequest(sample.id, messages, SAMPLING, tools=native_tools(functions))
        else:
            request = ChatRequest(sample.id, prompt_messages(messages, functions), SAMPLING)
        return [await model.chat(request)]

    return solve


def decode(completion: Completion, category: str, mode: str) -> Decoded:
    """The answer's calls as the mode and the row's language read them; DecodeError when it has none.
    Irrelevance answers in prompt mode are read as Python, as BFCL reads them."""
    if mode == NATIVE_TOOLS_MODE:
        return decode_tool_calls(completion.tool_calls, completion.answer)
    if category == IRRELEVANCE:
        return decode_python(completion.answer)
    return decode_prompt_answer(completion.answer, language_of(category))


def verdict(row: Mapping[str, Any], output: SampleOutput | None, mode: str) -> dict[str, Any]:
    """correct, parsed, well_formed (a row that expects calls got at least one well-formed call), BFCL's
    error type and message, and the decoded calls."""
    category = str(row["category"])
    final = output.final if output is not None and output.ok else None
    if final is None:
        failure = None if output is None else output.failure
        return _outcome(category, None, False, None, None, str(failure or "no answer"))
    try:
        decoded: Decoded | None = decode(final, category, mode)
        problem = ""
    except DecodeError as exc:
        decoded, problem = None, str(exc)
    if category == IRRELEVANCE:
        if has_calls(decoded):
            return _outcome(
                category, decoded, False, True, CALLED_IRRELEVANT, "a call where no function fits"
            )
        return _outcome(category, decoded, True, True)
    if decoded is None:
        return _outcome(category, None, False, False, DECODER_FAILED, problem)
    if not well_formed(decoded):
        return _outcome(category, decoded, False, False, WRONG_FORMAT, "not a list of {name: {arguments}}")
    try:
        check = check_answer(
            category, row["function"], decoded, row["ground_truth"], underscores=mode == NATIVE_TOOLS_MODE
        )
    except UnsupportedType as exc:
        return _outcome(category, decoded, False, bool(decoded), "unsupported_type", str(exc))
    return _outcome(category, decoded, check.valid, bool(decoded), check.error_type, check.error)


def _outcome(
    category: str,
    decoded: Decoded | None,
    correct: bool,
    parsed: bool | None,
    error_type: str | None = None,
    error: str = "",
) -> dict[str, Any]:
    return {
        "category": category,
        "correct": correct,
        "parsed": parsed,
        "well_formed": category != IRRELEVANCE and bool(parsed),
        "error_type": error_type,
        "error": error or None,
        "decoded": _jsonable(decoded),
    }


def _jsonable(value: Any) -> Any:
    """The decoded calls as JSON can hold them (tuples as lists; anything else as its repr)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


def _scorer(mode: str) -> Any:
    def score_now(samples: Sequence[Sample], outputs: Mapping[str, SampleOutput]) -> ScoreResult:
        verdicts = {s.id: verdict(s.row, outputs.get(s.id), mode) for s in samples}
        metrics = {**bfcl_metrics(list(verdicts.values())), "mode": mode}
        return ScoreResult({**metrics, **answer_quality(samples, outputs, verdicts)}, verdicts)

    return score_now


AST_ACCURACY = Headline(
    "ast_accuracy", "correct", binary=True, group_key="category", group_weights=summary_weights
)
"""BFCL v4's mean of category accuracies (irrelevance left out), weighed as the scorer weighs them."""
REPORT = ReportSpec((AST_ACCURACY, ACCURACY), "function calling")


def bfcl_task(options: TaskOptions | None = None) -> TaskSpec:
    """bfcl in `native` (default) or `prompt` mode."""
    options = options or TaskOptions()
    mode = options.mode or NATIVE_TOOLS_MODE
    if mode not in MODES:
        raise UsageError(f"bfcl has no mode {mode!r}", f"modes: {', '.join(MODES)}")
    if options.num_fewshot or options.config is not None:
        raise UsageError("bfcl takes a mode only (bfcl:native or bfcl:prompt)")
    return TaskSpec(
        name="bfcl",
        family="function_calling",
        source=bfcl_data.SOURCE,
        required_fields=("id", "question", "function"),
        id_field="id",
        solver=_solver(mode),
        scorer=off_loop(_scorer(mode)),
        request_kinds=frozenset({RequestKind.CHAT}),
        sampling=SAMPLING,
        description=f"BFCL non-live AST categories ({mode} function calling); BFCL's AST checker",
        mode=mode,
        modes=MODES,
        single_call_mode=PROMPT_TOOLS_MODE,
        stratify="category",
        configure=bfcl_task,
        hub_rows=bfcl_data.hub_rows,
        prepare_rows=bfcl_data.prepare_rows,
        report=REPORT,
    )


BFCL = bfcl_task()
