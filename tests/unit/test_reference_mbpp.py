r"""mbpp against lm-evaluation-harness v0.4.12 (EleutherAI/lm-evaluation-harness, tag v0.4.12 = commit
6d642546f4688648fced259eb3302efd36ece5af):

- lm_eval/tasks/mbpp/mbpp.yaml: `doc_to_text`, `doc_to_target` (`{{code}}\n[DONE]` for a few-shot example,
  the three asserts otherwise), target_delimiter "", `until: ["[DONE]"]`, `do_sample: false`, num_fewshot 3
  with the `first_n` sampler over utils.py `list_fewshot_samples` (MBPP task_ids 2, 3, 4), the full subset's
  test split, metric utils.pass_at_1;
- lm_eval/api/task.py `fewshot_context` / `build_qa_turn` and api/utils.py `Message.to_text`: without a chat
  template each example renders as its text, the target delimiter, its target and the few-shot delimiter
  ("\n\n", config/task.py's default), and the problem as its text alone;
- lm_eval/models/huggingface.py `max_gen_toks` 256 and models/utils.py `postprocess_generated_text` (the
  completion cut at the first stop sequence);
- utils.pass_at_1 calls HF evaluate's code_eval (huggingface/evaluate metrics/code_eval/code_eval.py, commit
  d52b581), which checks `candidate + "\n" + test_case`.

`mbpp_completion` is that task; the default `mbpp` (zero-shot chat) is this suite's variant of
mbpp_instruct.yaml, and the tests below say where it differs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recording_model import RecordingModel

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind, Sampling
from evalclient.config import SandboxSettings
from evalclient.sandbox.local import SubprocessSandbox
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.code_scoring import execution_metrics
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.mbpp import (
    FEWSHOT,
    MBPP,
    MBPP_COMPLETION,
    completion_program,
    instruct_program,
    lm_eval_prompt,
    mbpp_task,
)
from evalclient.tasks.solving import solve_samples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

SHOT_2 = (
    "You are an expert Python programmer, and here is your task: Write a function to find the similar "
    "elements from the given two tuple lists. Your code should pass these tests:\n\n"
    "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n"
    "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)\n"
    "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)\n"
    "[BEGIN]\n"
    "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n"
    "  return (res) \n[DONE]\n\n"
)
SHOT_3 = (
    "You are an expert Python programmer, and here is your task: Write a python function to identify "
    "non-prime numbers. Your code should pass these tests:\n\n"
    "assert is_not_prime(2) == False\nassert is_not_prime(10) == True\nassert is_not_prime(35) == True\n"
    "[BEGIN]\n"
    "import math\r\ndef is_not_prime(n):\r\n    result = False\r\n"
    "    for i in range(2,int(math.sqrt(n)) + 1):\r\n        if n % i == 0:\r\n"
    "            result = True\r\n    return result\n[DONE]\n\n"
)
SHOT_4 = (
    "You are an expert Python programmer, and here is your task: Write a function to find the largest "
    "integers from a given list of numbers using heap queue algorithm. Your code should pass these tests:\n\n"
    "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65] \n"
    "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75] \n"
    "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, 58, 35]\n"
    "[BEGIN]\n"
    "import heapq as hq\r\ndef heap_queue_largest(nums,n):\r\n  largest_nums = hq.nlargest(n, nums)\r\n"
    "  return largest_nums\n[DONE]\n\n"
)
PROBLEM_901 = (
    "You are an expert Python programmer, and here is your task: Write a function to return the sum of the "
    "squares of a list of integers. Your code should pass these tests:\n\n"
    "assert sum_squares([1, 2, 3]) == 14\nassert sum_squares([]) == 0\nassert sum_squares([-2]) == 4\n"
    "[BEGIN]\n"
)
"""The context lm-eval v0.4.12 builds for the fixture's row 901, written out by hand from the sources."""


def _row(index: int) -> dict[str, object]:
    row: dict[str, object] = json.loads((FIXTURES / "mbpp.jsonl").read_text().splitlines()[index])
    return row


def _lm_eval_context(shots: list[dict[str, object]], doc: dict[str, object]) -> str:
    """fewshot_context without a chat template, restated: Messages (user text + target delimiter "",
    assistant target + fewshot delimiter "\n\n") for each example, then (user text + "") for the problem,
    rendered by concatenating content + delimiter; doc_to_text / doc_to_target as mbpp.yaml renders them."""

    def doc_to_text(row: dict[str, object]) -> str:
        tests = row["test_list"]
        assert isinstance(tests, list)
        return (
            "You are an expert Python programmer, and here is your task: "
            f"{row['text']} Your code should pass these tests:\n\n"
            f"{tests[0]}\n{tests[1]}\n{tests[2]}\n[BEGIN]\n"
        )

    messages: list[tuple[str, str]] = []
    for shot in shots:
        messages += [(doc_to_text(shot), ""), (f"{shot['code']}\n[DONE]", "\n\n")]
    messages.append((doc_to_text(doc), ""))
    return "".join(content + delimiter for content, delimiter in messages)


def test_the_completion_prompt_is_lm_evals_three_shot_context() -> None:
    """mbpp.yaml, utils.py list_fewshot_samples and api/task.py fewshot_context (v0.4.12): the exact string,
    written out by hand, and the same string from the restated assembly."""
    row = _row(0)
    expected = SHOT_2 + SHOT_3 + SHOT_4 + PROBLEM_901
    assert lm_eval_prompt(row) == expected
    assert _lm_eval_context([dict(shot) for shot in FEWSHOT], row) == expected
    assert [shot["task_id"] for shot in FEWSHOT] == [2, 3, 4]


async def test_the_completion_request_is_lm_evals_generation() -> None:
    """mbpp.yaml (v0.4.12): generate_until with until ["[DONE]"], greedy; max_gen_toks 256 (the default of
    models/huggingface.py and api_models.py); the full subset's test split."""
    model = RecordingModel("def f():\n    pass\n[DONE]")
    await solve_samples(MBPP_COMPLETION, [Sample("901", _row(0))], model)
    [request] = model.requests
    assert request.kind == RequestKind.GENERATE
    assert request.prompt == SHOT_2 + SHOT_3 + SHOT_4 + PROBLEM_901  # type: ignore[union-attr]
    assert request.sampling == Sampling(max_tokens=256, temperature=0.0, stop=("[DONE]",))
    source = MBPP_COMPLETION.source
    assert (source.path, source.config, source.split) == ("google-research-datasets/mbpp", "full", "test")


@pytest.mark.parametrize(
    ("completion", "code"),
    [
        (
            "def sum_squares(xs):\n    return sum(x * x for x in xs)\n[DONE]",
            "def sum_squares(xs):\n    return sum(x * x for x in xs)\n",
        ),
        ("def f():\n    pass\n[DONE]\nYou are an expert ... [DONE]", "def f():\n    pass\n"),
        (
            "```python\ndef f():\n    pass\n```\nmore",
            "```python\ndef f():\n    pass\n```\nmore",
        ),  # only [DONE] stops
        ("def f(): return 1", "def f(): return 1"),  # no stop sequence: the whole completion
    ],
)
def test_the_program_is_code_evals(completion: str, code: str) -> None:
    """models/utils.py postprocess_generated_text (v0.4.12) cuts at the first "[DONE]"; utils.pass_at_1 hands
    it with doc_to_target (the asserts joined by "\n") to code_eval, which runs `candidate + "\n" + test`
    (code_eval.py, d52b581). The sandbox runs code then test in one namespace: the same program."""
    row = _row(1)  # its test_setup_code is "import math": lm-eval does not run it
    program = completion_program(Sample("902", row), completion)
    tests = "\n".join(str(t) for t in row["test_list"])  # type: ignore[attr-defined]
    assert (program.code, program.test) == (code, tests)
    assert program.code + "\n" + program.test == code + "\n" + (
        "assert distance((0, 0), (3, 4)) == 5.0\nassert distance((1, 1), (1, 1)) == 0.0\n"
        "assert distance((-1, 0), (2, 4)) == 5.0"
    )


def test_pass_at_1_is_the_mean_of_code_evals_per_problem_pass_at_1() -> None:
    """utils.pass_at_1 (v0.4.12) returns code_eval's pass@1 for one problem and one answer, 1.0 when it
    passed and 0.0 when not (code_eval.py estimate_pass_at_k, n = k = 1), and the task averages them."""
    verdicts = {
        str(i): {"passed": passed, "programs": 1, "statuses": ["passed" if passed else "failed"]}
        for i, passed in enumerate([1, 0, 1, 1, 0])
    }
    assert execution_metrics(verdicts, 1)["pass@1"] == pytest.approx(3 / 5)


def test_the_completion_style_is_defined_on_the_full_subset_only() -> None:
    """lm-eval v0.4.12's mbpp.yaml reads dataset_name `full`; there is no sanitized `mbpp` there."""
    with pytest.raises(ValueError, match="full subset only"):
        mbpp_task("sanitized", "completion")


async def test_the_default_mbpp_is_a_named_zero_shot_variant_of_mbpp_instruct() -> None:
    """mbpp_instruct.yaml (v0.4.12): its doc_to_text starts this suite's chat message, which then asks for
    one fenced block; unlike mbpp_instruct there are no examples, no "\n```python\n" prefill, up to 1024
    tokens, and the row's test_setup_code runs before the asserts."""
    row = _row(1)
    tests = row["test_list"]
    assert isinstance(tests, list)
    instruct_text = (
        f"You are an expert Python programmer, and here is your task:\n{row['text']}\n"
        f"Your code should pass these tests:\n{tests[0]}\n{tests[1]}\n{tests[2]}"
    )
    model = RecordingModel("```python\nimport math\n```")
    await solve_samples(MBPP, [Sample("902", row)], model)
    [request] = model.requests
    assert request.kind == RequestKind.CHAT
    assert request.messages[0]["content"] == (  # type: ignore[union-attr]
        instruct_text + "\nWrite the code in one markdown code block (```python ... ```)."
    )
    assert request.sampling.max_tokens == 1024
    program = instruct_program(Sample("902", row), "```python\ndef distance(a, b):\n    return 0\n```")
    assert program.test == "import math\n" + "\n".join(tests) + "\n"
    assert "this suite's variant" in MBPP.description
    assert "lm-eval v0.4.12's 3-shot `mbpp`" in MBPP_COMPLETION.description


async def test_mbpp_completion_reports_pass_at_1_under_lm_evals_name_too() -> None:
    """lm-eval v0.4.12 mbpp.yaml names the metric `pass_at_1` (utils.pass_at_1): `mbpp_completion` reports it
    beside `pass@1`; the suite's own zero-shot variant does not carry lm-eval's name."""
    row = _row(1)
    samples = [Sample("902", row), Sample("902b", row)]
    answers = {
        "902": "import math\ndef distance(a, b):\n    return math.dist(a, b)\n[DONE]",
        "902b": "def distance(a, b):\n    return 0\n",
    }
    context = ScoreContext(sandbox=SubprocessSandbox(SandboxSettings(kind="subprocess")))
    scored = {}
    for task, kind in ((MBPP_COMPLETION, RequestKind.GENERATE), (MBPP, RequestKind.CHAT)):
        outputs = {i: SampleOutput(i, [Completion(i, kind, text=text)]) for i, text in answers.items()}
        assert task.scorer is not None
        scored[task.name] = (await task.scorer(samples, outputs, context)).metrics  # type: ignore[misc]
    assert (scored["mbpp_completion"]["pass@1"], scored["mbpp_completion"]["pass_at_1"]) == (0.5, 0.5)
    assert "pass_at_1" not in scored["mbpp"]
