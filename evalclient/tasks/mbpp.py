r"""MBPP (google-research-datasets/mbpp): short Python tasks from a one-line description and three asserts.

Subsets: `full` test split (500 problems; the sweep's mbpp) or `sanitized` (`mbpp_sanitized`, 257 problems
whose descriptions were hand-checked; its description field is `prompt` and its imports `test_imports`).

The reference is lm-evaluation-harness v0.4.12 (EleutherAI/lm-evaluation-harness, tag v0.4.12 = commit
6d642546f4688648fced259eb3302efd36ece5af), lm_eval/tasks/mbpp/: its `mbpp` task (mbpp.yaml) is the MBPP
paper's 3-shot prompt on the full test split, and `mbpp_instruct` (mbpp_instruct.yaml) a 3-shot variant for
instruction models. Its metric `pass_at_1` (utils.py) is the `pass@1` of HF evaluate's `code_eval`
(huggingface/evaluate metrics/code_eval/code_eval.py, commit d52b581, `_compute`): each answer is checked
as the one program `answer + "\n" + reference` (its `check_correctness`, timeout 3.0 s), the reference being
the three asserts joined by "\n" (`test_setup_code` is not run); the task's score is the mean over
problems. Here that number is `pass@1`, code_eval's own name for it, and for `mbpp_completion` (lm-eval's
`mbpp` exactly) also `pass_at_1`, lm-eval's name.

Prompts:
- completion (`mbpp_completion`): lm-eval v0.4.12's `mbpp`, checked in tests/unit/test_reference_mbpp.py.
  The prompt is lm-eval's plain-text few-shot context (api/task.py `fewshot_context` and `build_qa_turn`):
  for each of the first three `list_fewshot_samples` (MBPP task_ids 2, 3, 4, carried below as data) its
  `doc_to_text`, then its `doc_to_target` `{code}\n[DONE]` (target_delimiter ""), then the fewshot_delimiter
  "\n\n"; then the problem's `doc_to_text`: "You are an expert Python programmer, and here is your task:
  {text} Your code should pass these tests:\n\n{test_list[0]}\n{test_list[1]}\n{test_list[2]}\n[BEGIN]\n". It
  goes to /generate, greedy, stopped at `[DONE]` (`until`), at most 256 new tokens (lm-eval's default
  `max_gen_toks`); the program is the completion up to the first `[DONE]` (models/utils.py
  `postprocess_generated_text`), then the three asserts. lm-eval runs it on the full subset only, and so
  does this style.
- instruct (the default, `mbpp` and `mbpp_sanitized`): this suite's zero-shot chat variant of lm-eval's
  `mbpp_instruct`. The user message is `mbpp_instruct`'s doc_to_text (the task, then the tests) followed by
  a request for one fenced block; `mbpp_instruct` instead sends three worked examples and prefills the
  answer with "\n```python\n" (gen_prefix), stops at 256 tokens and takes its first fenced block (utils.py
  `extract_code_blocks`, "" without one). Here the answer may run to 1024 tokens; the code is its first
  fenced block (the whole answer where there is none); the tests are the row's `test_setup_code`
  (sanitized: `test_imports`) and then its asserts, as the dataset describes them. Its score is `pass@1` of
  this variant, not comparable with lm-eval's `mbpp` or `mbpp_instruct` scores.
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
from evalclient.tasks.report_spec import PASS_AT_1, ReportSpec
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
COMPLETION_SAMPLING = Sampling(max_tokens=256, temperature=0.0, stop=(DONE,))
"""lm-eval v0.4.12 `mbpp`: `until: ["[DONE]"]`, `do_sample: false`, its default max_gen_toks 256."""

INSTRUCT_TEMPLATE = (
    "You are an expert Python programmer, and here is your task:\n{description}\n"
    "Your code should pass these tests:\n{tests}\n"
    "Write the code in one markdown code block (```python ... ```)."
)
COMPLETION_TEMPLATE = (
    "You are an expert Python programmer, and here is your task: {description} "
    "Your code should pass these tests:\n\n{tests}\n[BEGIN]\n"
)
"""lm-eval v0.4.12 mbpp.yaml `doc_to_text` (tests: test_list[0], [1], [2] joined by "\\n")."""
FEWSHOT_SEPARATOR = "\n\n"
"""lm-eval's default fewshot_delimiter (config/task.py), after each example's target."""
FEWSHOT: tuple[dict[str, Any], ...] = (
    {
        "task_id": 2,
        "text": "Write a function to find the similar elements from the given two tuple lists.",
        "code": "\r\n".join(
            (
                "def similar_elements(test_tup1, test_tup2):",
                "  res = tuple(set(test_tup1) & set(test_tup2))",
                "  return (res) ",
            )
        ),
        "test_list": [
            "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
            "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
            "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)",
        ],
    },
    {
        "task_id": 3,
        "text": "Write a python function to identify non-prime numbers.",
        "code": "\r\n".join(
            (
                "import math",
                "def is_not_prime(n):",
                "    result = False",
                "    for i in range(2,int(math.sqrt(n)) + 1):",
                "        if n % i == 0:",
                "            result = True",
                "    return result",
            )
        ),
        "test_list": [
            "assert is_not_prime(2) == False",
            "assert is_not_prime(10) == True",
            "assert is_not_prime(35) == True",
        ],
    },
    {
        "task_id": 4,
        "text": "Write a function to find the largest integers from a given list of numbers using heap queue "
        "algorithm.",
        "code": "\r\n".join(
            (
                "import heapq as hq",
                "def heap_queue_largest(nums,n):",
                "  largest_nums = hq.nlargest(n, nums)",
                "  return largest_nums",
            )
        ),
        "test_list": [
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65] ",
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75] ",
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, 58, 35]",
        ],
    },
)
"""The three examples of lm-eval v0.4.12 `mbpp` (utils.py `list_fewshot_samples`, taken in order by the
`first_n` sampler): MBPP rows 2, 3 and 4 of the dataset's prompt split (google-research mbpp.jsonl), the
paper's 3-shot prompt. Data, not code: text, code (with its \\r\\n line ends and trailing blanks) and tests
exactly as the dataset has them."""


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


def lm_eval_tests(row: Mapping[str, Any]) -> str:
    """lm-eval v0.4.12 mbpp.yaml `doc_to_target` of a test problem: its three asserts joined by "\\n"."""
    return "\n".join(str(test) for test in row["test_list"][:3])


def lm_eval_text(row: Mapping[str, Any]) -> str:
    """lm-eval v0.4.12 mbpp.yaml `doc_to_text` of a row (its `text` as the dataset has it, unstripped)."""
    return COMPLETION_TEMPLATE.format(description=row["text"], tests=lm_eval_tests(row))


def lm_eval_prompt(row: Mapping[str, Any]) -> str:
    """The plain-text 3-shot context lm-eval v0.4.12 builds for `mbpp` (see the module docstring)."""
    shots = "".join(f"{lm_eval_text(shot)}{shot['code']}\n{DONE}{FEWSHOT_SEPARATOR}" for shot in FEWSHOT)
    return shots + lm_eval_text(row)


def instruct_program(sample: Sample, answer: str) -> Program:
    return Program(first_code_block(answer), harness_test(sample.row))


def completion_program(sample: Sample, answer: str) -> Program:
    """code_eval's program for lm-eval's `mbpp`: the completion up to `[DONE]`, then the three asserts (the
    sandbox runs the two in one namespace, as `code + "\\n" + tests` runs there)."""
    return Program(truncate_at_stops(answer, (DONE,)), lm_eval_tests(sample.row))


async def _ask_chat(sample: Sample, model: ModelHandle, request_id: str, sampling: Sampling) -> Completion:
    prompt = INSTRUCT_TEMPLATE.format(description=description(sample.row), tests=listed_tests(sample.row))
    return await model.chat(ChatRequest(request_id, user_message(prompt), sampling))


async def _ask_generate(
    sample: Sample, model: ModelHandle, request_id: str, sampling: Sampling
) -> Completion:
    return await model.generate(GenerateRequest(request_id, lm_eval_prompt(sample.row), sampling))


def mbpp_task(
    subset: Subset = "full",
    style: Style = "instruct",
    samples_per_problem: int = 1,
    temperature: float | None = None,
) -> TaskSpec:
    """The mbpp task on this subset with this prompt style and this many answers per problem."""
    instruct = style == "instruct"
    if not instruct and subset != "full":
        raise ValueError("the completion style is lm-eval's `mbpp`, defined on the full subset only")
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
            name,
            instruct_program if instruct else completion_program,
            samples_per_problem,
            reference_name=None if instruct else "pass_at_1",
        ),
        request_kinds=frozenset({RequestKind.CHAT if instruct else RequestKind.GENERATE}),
        sampling=sampling,
        description=(
            f"basic Python tasks ({subset} test split) run against their asserts; pass@1"
            + (
                " (zero-shot chat, this suite's variant)"
                if instruct
                else " (lm-eval v0.4.12's 3-shot `mbpp`)"
            )
        ),
        report=ReportSpec((PASS_AT_1,), "code"),
    )


MBPP = mbpp_task()
MBPP_SANITIZED = mbpp_task("sanitized")
MBPP_COMPLETION = mbpp_task(style="completion")
