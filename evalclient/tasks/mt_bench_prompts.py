"""FastChat's MT-Bench single-answer grading prompts (fastchat/llm_judge/data/judge_prompts.jsonl at FastChat
v0.2.36, carried over as data; their text is pinned by hash in tests/unit/test_reference_mt_bench.py), the
categories graded against a reference answer, and the per-category temperatures of answer generation
(fastchat/llm_judge/common.py `temperature_config`; 0.7 for any other category).

Turn 1 is graded with `single-v1` (`single-math-v1` with the reference for math, reasoning and coding); turn 2
with the multi-turn prompts, which show the whole conversation and ask about the second answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JudgePrompt:
    """One FastChat judge prompt: system message and user template (str.format fields)."""

    name: str
    system: str
    template: str
    reference_based: bool
    multi_turn: bool


NEED_REFERENCE = frozenset({"math", "reasoning", "coding"})
"""Categories FastChat grades against a reference answer (its NEED_REF_CATS, less arena-hard-200)."""

TEMPERATURES: dict[str, float] = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
}
DEFAULT_TEMPERATURE = 0.7

SINGLE_V1 = JudgePrompt(
    name="single-v1",
    system="You are a helpful assistant.",
    template=(
        "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
        "provided by an AI assistant to the user question displayed below. Your evaluation should "
        "consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level "
        "of detail of the response. Begin your evaluation by providing a short explanation. Be as "
        "objective as possible. After providing your explanation, you must rate the response on a "
        'scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: '
        "[[5]]\".\n\n[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n[The End "
        "of Assistant's Answer]"
    ),
    reference_based=False,
    multi_turn=False,
)
SINGLE_MATH_V1 = JudgePrompt(
    name="single-math-v1",
    system="You are a helpful assistant.",
    template=(
        "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
        "provided by an AI assistant to the user question displayed below. Your evaluation should "
        "consider correctness and helpfulness. You will be given a reference answer and the "
        "assistant's answer. Begin your evaluation by comparing the assistant's answer with the "
        "reference answer. Identify and correct any mistakes. Be as objective as possible. After "
        "providing your explanation, you must rate the response on a scale of 1 to 10 by strictly "
        'following this format: "[[rating]]", for example: "Rating: '
        '[[5]]".\n\n[Question]\n{question}\n\n[The Start of Reference Answer]\n{ref_answer_1}\n[The '
        "End of Reference Answer]\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of "
        "Assistant's Answer]"
    ),
    reference_based=True,
    multi_turn=False,
)
SINGLE_V1_MULTI_TURN = JudgePrompt(
    name="single-v1-multi-turn",
    system=(
        "Please act as an impartial judge and evaluate the quality of the response provided by an AI "
        "assistant to the user question displayed below. Your evaluation should consider factors such "
        "as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of the "
        "response. You evaluation should focus on the assistant's answer to the second user question. "
        "Begin your evaluation by providing a short explanation. Be as objective as possible. After "
        "providing your explanation, you must rate the response on a scale of 1 to 10 by strictly "
        'following this format: "[[rating]]", for example: "Rating: [[5]]".\n\n'
    ),
    template=(
        "<|The Start of Assistant A's Conversation with User|>\n\n### User:\n{question_1}\n\n### "
        "Assistant A:\n{answer_1}\n\n### User:\n{question_2}\n\n### Assistant A:\n{answer_2}\n\n<|The "
        "End of Assistant A's Conversation with User|>"
    ),
    reference_based=False,
    multi_turn=True,
)
SINGLE_MATH_V1_MULTI_TURN = JudgePrompt(
    name="single-math-v1-multi-turn",
    system=(
        "Please act as an impartial judge and evaluate the quality of the response provided by an AI "
        "assistant to the user question. Your evaluation should consider correctness and helpfulness. "
        "You will be given a reference answer and the assistant's answer. You evaluation should focus "
        "on the assistant's answer to the second question. Begin your evaluation by comparing the "
        "assistant's answer with the reference answer. Identify and correct any mistakes. Be as "
        "objective as possible. After providing your explanation, you must rate the response on a "
        'scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: '
        '[[5]]".\n\n'
    ),
    template=(
        "<|The Start of Reference Answer|>\n\n### User:\n{question_1}\n\n### Reference "
        "answer:\n{ref_answer_1}\n\n### User:\n{question_2}\n\n### Reference "
        "answer:\n{ref_answer_2}\n\n<|The End of Reference Answer|>\n\n\n<|The Start of Assistant A's "
        "Conversation with User|>\n\n### User:\n{question_1}\n\n### Assistant A:\n{answer_1}\n\n### "
        "User:\n{question_2}\n\n### Assistant A:\n{answer_2}\n\n<|The End of Assistant A's "
        "Conversation with User|>"
    ),
    reference_based=True,
    multi_turn=True,
)

PROMPTS: dict[tuple[bool, bool], JudgePrompt] = {
    (False, False): SINGLE_V1,
    (True, False): SINGLE_MATH_V1,
    (False, True): SINGLE_V1_MULTI_TURN,
    (True, True): SINGLE_MATH_V1_MULTI_TURN,
}
"""The prompt by (reference-based, multi-turn)."""
