"""The judge prompts, pinned word for word for one sample of each kind: MT-Bench turn 1 and turn 2,
general and
reference-guided (FastChat's single-answer prompts), and AlpacaEval's annotator prompt in both orders."""

from __future__ import annotations

from typing import Any

import pytest
from reference_harness import alpaca_eval_judge_messages, alpaca_eval_shown_first, alpaca_eval_template

from evalclient.client.completion import Completion, ErrorKind, RequestError
from evalclient.client.requests import RequestKind
from evalclient.errors import DatasetError
from evalclient.tasks.alpaca_eval import V1, V2, Setting, judge_item, preference, ranking, switched
from evalclient.tasks.alpaca_eval_prompt import judge_messages
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.mt_bench import judge_items

GENERAL = Sample("44067482", {"prompt_id": 44067482, "prompt": ["Q one?", "Q two?"], "category": "writing"})
MATH = Sample(
    "22339468",
    {
        "prompt_id": 22339468,
        "prompt": ["Area?", "Circle?"],
        "category": "math",
        "reference_answer": ["Ref one.", "Ref two."],
    },
)


def _answers(sample_id: str, *texts: str) -> SampleOutput:
    return SampleOutput(
        sample_id, [Completion(f"{sample_id}/turn{i}", RequestKind.CHAT, t) for i, t in enumerate(texts)]
    )


def _messages(sample: Sample, *texts: str) -> list[tuple[Any, ...]]:
    items = judge_items(sample, _answers(sample.id, *texts))
    return [(i.key, i.meta["prompt"], i.request.messages, i.request.sampling.temperature) for i in items]


SINGLE_V1_USER = (
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI "
    "assistant to the user question displayed below. Your evaluation should consider factors such as the "
    "helpfulness, relevance, accuracy, depth, creativity, and level of detail of the response. Begin your "
    "evaluation by providing a short explanation. Be as objective as possible. After providing your "
    "explanation, you must rate the response on a scale of 1 to 10 by strictly following this format: "
    '"[[rating]]", for example: "Rating: [[5]]".\n\n[Question]\nQ one?\n\n'
    "[The Start of Assistant's Answer]\nA one.\n[The End of Assistant's Answer]"
)
MULTI_TURN_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI "
    "assistant to "
    "the user question displayed below. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of the response. You evaluation "
    "should focus "
    "on the assistant's answer to the second user question. Begin your evaluation by providing a short "
    "explanation. Be as objective as possible. After providing your explanation, you must rate the "
    "response on "
    'a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: [[5]]".\n\n'
)
MULTI_TURN_USER = (
    "<|The Start of Assistant A's Conversation with User|>\n\n### User:\nQ one?\n\n### Assistant "
    "A:\nA one.\n\n"
    "### User:\nQ two?\n\n### Assistant A:\nA two.\n\n<|The End of Assistant A's Conversation with User|>"
)
MATH_USER = (
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI "
    "assistant to the user question displayed below. Your evaluation should consider correctness and "
    "helpfulness. You will be given a reference answer and the assistant's answer. Begin your evaluation by "
    "comparing the assistant's answer with the reference answer. Identify and correct any mistakes. Be as "
    "objective as possible. After providing your explanation, you must rate the response on a scale "
    "of 1 to 10 "
    'by strictly following this format: "[[rating]]", for example: "Rating: [[5]]".\n\n[Question]\nArea?\n\n'
    "[The Start of Reference Answer]\nRef one.\n[The End of Reference Answer]\n\n"
    "[The Start of Assistant's Answer]\n3\n[The End of Assistant's Answer]"
)
MATH_MULTI_TURN_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI "
    "assistant to "
    "the user question. Your evaluation should consider correctness and helpfulness. You will be given a "
    "reference answer and the assistant's answer. You evaluation should focus on the assistant's "
    "answer to the "
    "second question. Begin your evaluation by comparing the assistant's answer with the reference answer. "
    "Identify and correct any mistakes. Be as objective as possible. After providing your "
    "explanation, you must "
    'rate the response on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: '
    '"Rating: [[5]]".\n\n'
)
MATH_MULTI_TURN_USER = (
    "<|The Start of Reference Answer|>\n\n### User:\nArea?\n\n### Reference answer:\nRef one.\n\n"
    "### User:\nCircle?\n\n### Reference answer:\nRef two.\n\n<|The End of Reference Answer|>\n\n\n"
    "<|The Start of Assistant A's Conversation with User|>\n\n### User:\nArea?\n\n### Assistant A:\n3\n\n"
    "### User:\nCircle?\n\n### Assistant A:\n5 pi\n\n<|The End of Assistant A's Conversation with User|>"
)


def test_mt_bench_general_turns_use_single_v1_then_the_multi_turn_prompt() -> None:
    assert _messages(GENERAL, "A one.", "A two.") == [
        (
            "44067482/turn1",
            "single-v1",
            (
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": SINGLE_V1_USER},
            ),
            0.0,
        ),
        (
            "44067482/turn2",
            "single-v1-multi-turn",
            ({"role": "system", "content": MULTI_TURN_SYSTEM}, {"role": "user", "content": MULTI_TURN_USER}),
            0.0,
        ),
    ]


def test_mt_bench_math_turns_are_graded_against_the_reference() -> None:
    items = _messages(MATH, "3", "5 pi")
    assert items[0][:2] == ("22339468/turn1", "single-math-v1")
    assert items[0][2] == (
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": MATH_USER},
    )
    assert items[1][:2] == ("22339468/turn2", "single-math-v1-multi-turn")
    assert items[1][2] == (
        {"role": "system", "content": MATH_MULTI_TURN_SYSTEM},
        {"role": "user", "content": MATH_MULTI_TURN_USER},
    )


def test_judge_request_settings_and_fastchat_ids() -> None:
    item = judge_items(MATH, _answers(MATH.id, "3", "5 pi"))[0]
    assert (item.request.sampling.max_tokens, item.request.stream, item.request.logprobs) == (
        2048,
        False,
        None,
    )
    assert item.meta == {"turn": 1, "category": "math", "prompt": "single-math-v1", "question_id": 111}


def test_a_failed_turn_is_not_judged_and_turn_two_needs_turn_one() -> None:
    failed_second = _answers(GENERAL.id, "A one.", "")
    failed_second.completions[1].error = RequestError(ErrorKind.TIMEOUT, "late")
    assert [i.key for i in judge_items(GENERAL, failed_second)] == ["44067482/turn1"]
    failed_first = _answers(GENERAL.id, "")
    failed_first.completions[0].error = RequestError(ErrorKind.TIMEOUT, "late")
    assert judge_items(GENERAL, failed_first) == []
    assert judge_items(GENERAL, None) == []


def test_a_reference_category_without_its_reference_fails_before_any_request() -> None:
    row = {k: v for k, v in MATH.row.items() if k != "reference_answer"}
    with pytest.raises(DatasetError, match="graded against a reference answer and none was found"):
        judge_items(Sample(MATH.id, row), _answers(MATH.id, "3", "5 pi"))


ALPACA = Sample("7", {"instruction": "Say hi.", "output": "Hello!", "generator": "gpt4_1106_preview"})
ALPACA_USER = """\
I require a leaderboard for various large language models. I'll provide you with prompts given to \
these models \
and their corresponding outputs. Your task is to assess these responses, and select the model that \
produces the \
best output from a human perspective.

## Instruction

{
    "instruction": \"\"\"Say hi.\"\"\",
}

## Model Outputs

Here are the unordered outputs from the models. Each output is associated with a specific model, \
identified by \
a unique model identifier.

{
    {
        "model_identifier": "m",
        "output": \"\"\"FIRST\"\"\"
    },
    {
        "model_identifier": "M",
        "output": \"\"\"SECOND\"\"\"
    }
}

## Task

Evaluate the models based on the quality and relevance of their outputs, and select the model that generated \
the best output. Answer by providing the model identifier of the best model. We will use your output as the \
name of the best model, so make sure your output only contains one of the following model identifiers and \
nothing else (no quotes, no spaces, no new lines, ...): m or M.

## Best Model Identifier"""
ALPACA_SYSTEM = (
    "You are a highly efficient assistant, who evaluates and selects the best large language model "
    "(LLMs) based "
    "on the quality of their responses to a given instruction. This process will be used to create a "
    "leaderboard reflecting the most accurate and human-preferred answers."
)


@pytest.mark.parametrize("answer", ["Hi {output_1} there", "Hey."])
def test_alpaca_eval_prompt_in_alpaca_evals_order(answer: str) -> None:
    item = judge_item(ALPACA, answer)
    # AlpacaEval's switch for "Say hi." with seed 0: random.Random("is_switched_outputsSay hi.0") says no
    assert switched("Say hi.") is False
    assert item.meta == {"order": "baseline_first", "generator": "gpt4_1106_preview"}
    expected = ALPACA_USER.replace("FIRST", "Hello!").replace("SECOND", answer)
    assert item.request.messages == (
        {"role": "system", "content": ALPACA_SYSTEM},
        {"role": "user", "content": expected},
    )
    assert (item.request.sampling.max_tokens, item.request.sampling.temperature) == (1, 0.0)
    assert (item.request.logprobs, item.request.stream) == (5, False)


def test_the_order_is_alpaca_evals_for_every_instruction() -> None:
    instructions = [f"Instruction number {i}: do thing {i * 7 % 13}." for i in range(300)]
    pairs = [(text, f"baseline {i}", f"model {i}") for i, text in enumerate(instructions)]
    shown = alpaca_eval_shown_first(pairs)
    ours = [
        judge_item(Sample(str(i), {"instruction": t, "output": b, "generator": "x"}), m).meta["order"]
        for i, (t, b, m) in enumerate(pairs)
    ]
    assert ours == ["model_first" if s.startswith("model") else "baseline_first" for s in shown]
    assert 100 < ours.count("model_first") < 200


def test_alpaca_eval_1_asks_for_a_ranking_of_model_1_and_model_2() -> None:
    item = judge_item(ALPACA, "Hey.", V1)
    assert item.meta["order"] == "baseline_first"
    system, user = item.request.messages
    assert system == {
        "role": "system",
        "content": "You are a helpful assistant, that ranks models by the quality of their answers.",
    }
    assert '"model": "model_1",\n        "answer": """Hello!"""' in user["content"]
    assert '"model": "model_2",\n        "answer": """Hey."""' in user["content"]
    assert (item.request.sampling.max_tokens, item.request.sampling.temperature) == (100, 0.0)
    assert item.request.logprobs is None


@pytest.mark.parametrize("setting", [V2, V1], ids=["2.0", "1"])
def test_the_templates_are_alpaca_evals_files(setting: Setting) -> None:
    assert setting.template == alpaca_eval_template(setting.annotator)


@pytest.mark.parametrize("setting", [V2, V1], ids=["2.0", "1"])
@pytest.mark.parametrize(
    ("instruction", "output_1", "output_2"),
    [
        ("Say hi.", "Hello!", "Hey."),
        ("  Spaces around  ", "\n\nleading blank lines", "trailing blank lines\n\n"),
        ("Quote {output_2} in the answer.", "I quote {instruction}.", "Braces {} and {x}"),
        ("A tag <|im_end|> inside", 'Triple """quotes"""', "unicode: héllo ✓"),
    ],
    ids=["plain", "whitespace", "placeholders-in-values", "odd-characters"],
)
def test_the_judge_messages_are_alpaca_evals(
    setting: Setting, instruction: str, output_1: str, output_2: str
) -> None:
    ours = judge_messages(setting.template, instruction, output_1, output_2)
    assert list(ours) == alpaca_eval_judge_messages(setting.annotator, instruction, output_1, output_2)


@pytest.mark.parametrize(
    ("answer", "rank"),
    [
        ("[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]", 1),
        ("[{'model': 'model_2', 'rank': 1}, {'model': 'model_1', 'rank': 2}]", 2),
        (" [{'model': 'model_1', 'rank': 2}, {'model': 'model_2', 'rank': 1}]\n", 2),
        ("[{'model': 'model_1', 'rank': 3}]", None),
        ("model_1 is better", None),
        ("[{'model': 'model_2', 'rank': 1}]", None),
        ("", None),
    ],
)
def test_alpaca_eval_1_ranking_parser(answer: str, rank: int | None) -> None:
    assert ranking(answer) == rank
    # switched back where the judge saw the model's answer as model_1
    completion = Completion("judge:7", RequestKind.CHAT, answer)
    expected = None if rank is None else 3.0 - rank
    assert preference(completion, True, V1) == (expected, "unreadable" if rank is None else "ranking")
