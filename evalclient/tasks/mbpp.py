"""MBPP (google-research-datasets/mbpp): short Python tasks from a one-line description and three asserts.

Subsets: `full` test split (500 problems; the sweep's mbpp) or `sanitized` (`mbpp_sanitized`, 257 problems
whose descriptions were hand-checked; its description field is `prompt` and its imports `test_imports`).

Prompts:
- instruct (default), in the style of lm-eval's mbpp_instruct and the MBPP paper: the task, the tests the
  code must pass, and a request for one fenced block. The code is the answer's first fenced block (the
  whole answer where there is none).
- completion (`mbpp_completion`): the MBPP paper's prompt ending in `[BEGIN]` to /generate, stopped at
  `[DONE]`; the program is the completion up to there.

Execution as the reference harness: the code, then the row's `test_setup_code` (sanitized: `test_imports`),
then its `test_list` asserts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, GenerateRequest, RequestKind, Sampling
from evalclient.tasks.base import HubSource, ModelHandle, Sample, TaskSpec
from evalclient.tasks.code_answers import first_code_block, truncate_at_stops
from evalclient.tasks.code_scoring import drawing_solver, execution_scorer, sampling_for
from evalclient.tasks.context import Program
from evalclient.tasks.text import user_message

Subset = Literal["full", "sanitized"]
Style = Literal["instruct", "completion"]
REVISION = "4bb6404fdc6cacfda99d4ac4205087b89d32030c"
ROWS = {"full": 500, "sanitized": 257}
"""Test problems per subset (the dataset card's splits)."""
FIELDS: dict[str, tuple[str, ...]] = {
    "full": ("task_id", "text", "code", "test_list"),
    "sanitized": ("task_id", "prompt", "code", "test_list"),
}
DONE = "[DONE]"
INSTRUCT_SAMPLING = Sampling(max_tokens=1024, temperature=0.0)
COMPLETION_SAMPLING = Sampling(max_tokens=512, temperature=0.0, stop=(DONE,))

INSTRUCT_TEMPLATE = (
    "You are an expert Python programmer, and here is your task:\n{description}\n"
    "Your code should pass these tests:\n{tests}\n"
    "Write the code in one markdown code block (```python ... ```)."
)
COMPLETION_TEMPLATE = (
    "You are an expert Python programmer, and here is your task: {description} "
    "Your code should pass these tests:\n\n{tests}\n[BEGIN]\n"
)


def description(row: Mapping[str, Any]) -> str:
    """The task's one-line description (`text` in the full subset, `prompt` in the sanitized one)."""
    return str(row["text"] if "text" in row else row["prompt"]).strip()


def listed_tests(row: Mapping[str, Any]) -> str:
    return "\n".join(str(test) for test in row["test_list"])


def harness_test(row: Mapping[str, Any]) -> str:
    """The setup (full: test_setup_code; sanitized: test_imports), then every assert of test_list."""
    setup = row.get("test_setup_code")
    if setup is None:
        setup = "\n".join(str(line) for line in row.get("test_imports") or ())
    return f"{setup}\n{listed_tests(row)}\n"


def instruct_program(sample: Sample, answer: str) -> Program:
    return Program(first_code_block(answer), harness_test(sample.row))


def completion_program(sample: Sample, answer: str) -> Program:
    return Program(truncate_at_stops(answer, (DONE, "```")), harness_test(sample.row))


async def _ask_chat(sample: Sample, model: ModelHandle, request_id: str, sampling: Sampling) -> Completion:
    prompt = INSTRUCT_TEMPLATE.format(description=description(sample.row), tests=listed_tests(sample.row))
    return await model.chat(ChatRequest(request_id, user_message(prompt), sampling))


async def _ask_generate(
    sample: Sample, model: ModelHandle, request_id: str, sampling: Sampling
) -> Completion:
    prompt = COMPLETION_TEMPLATE.format(description=description(sample.row), tests=listed_tests(sample.row))
    return await model.generate(GenerateRequest(request_id, prompt, sampling))


def mbpp_task(
    subset: Subset = "full",
    style: Style = "instruct",
    samples_per_problem: int = 1,
    temperature: float | None = None,
) -> TaskSpec:
    """The mbpp task on this subset with this prompt style and this many answers per problem."""
    instruct = style == "instruct"
    sampling = sampling_for(
        INSTRUCT_SAMPLING if instruct else COMPLETION_SAMPLING, samples_per_problem, temperature
    )
    name = "mbpp" + ("_sanitized" if subset == "sanitized" else "") + ("" if instruct else "_completion")
    if samples_per_problem > 1:
        name += f"_n{samples_per_problem}"
    return TaskSpec(
        name=name,
        family="coding",
        source=HubSource(
            "google-research-datasets/mbpp",
            subset,
            "test",
            REVISION,
            files=(("test", (f"{subset}/test-00000-of-00001.parquet",)),),
            rows=(("test", ROWS[subset]),),
            cited='the repository at 4bb6404 ("Convert dataset to Parquet (#4)"): its README\'s configs map '
            "each split to <config>/<split>-*",
        ),
        required_fields=FIELDS[subset],
        id_field="task_id",
        solver=drawing_solver(_ask_chat if instruct else _ask_generate, sampling, samples_per_problem),
        scorer=execution_scorer(
            name, instruct_program if instruct else completion_program, samples_per_problem
        ),
        request_kinds=frozenset({RequestKind.CHAT if instruct else RequestKind.GENERATE}),
        sampling=sampling,
        description=f"basic Python tasks ({subset} test split) run against their asserts ({style}); pass@1",
    )


MBPP = mbpp_task()
MBPP_SANITIZED = mbpp_task("sanitized")
MBPP_COMPLETION = mbpp_task(style="completion")
