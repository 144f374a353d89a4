"""The simulator's tokenizer and generation plans: truncation, stop sequences, end of sequence."""

from __future__ import annotations

import pytest

from evalclient.sim.generation import plan_generation, prefill_tokens, reported_seed
from evalclient.sim.tokenizer import (
    apply_chat_template,
    count_tokens,
    eos_token_for,
    message_text,
    token_id,
    tokenize,
)


@pytest.mark.parametrize(
    "text",
    ["Hello, world!\n", "  leading and trailing  ", "internationalization 12345678901", "", "a\n\nb"],
)
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_tokens_carry_their_leading_whitespace_and_split_punctuation() -> None:
    assert tokenize("Hi, you there.") == ["Hi", ",", " you", " there", "."]
    assert tokenize("<|im_start|>user") == ["<|im_start|>", "user"]
    assert count_tokens("internationalization") == 3


def test_token_ids_are_stable() -> None:
    assert token_id(" the") == token_id(" the")
    assert token_id(" the") != token_id("the")


def test_chat_template_and_message_parts() -> None:
    prompt = apply_chat_template([("system", "Be brief."), ("user", "Hi")])
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>user\nHi<|im_end|>" in prompt
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert message_text(parts) == "ab"
    assert message_text(None) == ""
    with pytest.raises(TypeError):
        message_text(42)


def test_eos_token_follows_the_model_family() -> None:
    assert eos_token_for("Qwen/Qwen2.5-7B-Instruct") == "<|im_end|>"
    assert eos_token_for("bigscience/bloom-560m") == "</s>"


def test_whole_answer_ends_with_a_special_eos_token() -> None:
    plan = plan_generation("The answer is 4.", 100, [], "</s>")
    assert plan.finish_reason == "eos_token"
    assert plan.text == "The answer is 4."
    assert plan.generated_tokens == len(tokenize("The answer is 4.")) + 1
    assert plan.tokens[-1].special
    assert plan.tokens[-1].text == "</s>"
    assert not any(t.special for t in plan.tokens[:-1])


def test_max_new_tokens_truncates_with_finish_reason_length() -> None:
    plan = plan_generation("one two three four five", 3, [], "</s>")
    assert plan.finish_reason == "length"
    assert plan.text == "one two three"
    assert plan.generated_tokens == 3


def test_length_wins_when_the_limit_falls_on_the_eos_token() -> None:
    plan = plan_generation("one two", 3, [], "</s>")
    assert plan.generated_tokens == 3
    assert plan.finish_reason == "length"


def test_stop_sequence_cuts_the_text_and_stays_in_it() -> None:
    plan = plan_generation("Answer: 12\nQuestion: next one", 100, ["\nQuestion"], "</s>")
    assert plan.finish_reason == "stop_sequence"
    assert plan.text == "Answer: 12\nQuestion"
    assert "".join(t.text for t in plan.tokens) == plan.text


def test_stop_sequence_inside_a_token_cuts_that_token() -> None:
    plan = plan_generation("abcdefgh more", 100, ["cd"], "</s>")
    assert plan.text == "abcd"
    assert plan.tokens[-1].text == "abcd"


def test_earliest_stop_sequence_wins_and_empty_ones_are_ignored() -> None:
    plan = plan_generation("alpha beta gamma", 100, ["gamma", "", "beta"], "</s>")
    assert plan.text == "alpha beta"


def test_length_is_checked_before_stop_sequences() -> None:
    plan = plan_generation("alpha beta gamma", 2, ["beta"], "</s>")
    assert plan.finish_reason == "length"


def test_empty_answer_is_just_the_eos_token() -> None:
    plan = plan_generation("", 10, [], "</s>")
    assert plan.text == ""
    assert plan.generated_tokens == 1
    assert plan.finish_reason == "eos_token"


def test_prefill_tokens_first_logprob_is_null() -> None:
    prefill = prefill_tokens(["What", " is", " 2"])
    assert [p["text"] for p in prefill] == ["What", " is", " 2"]
    assert prefill[0]["logprob"] is None
    assert all(isinstance(p["logprob"], float) for p in prefill[1:])


def test_seed_is_reported_only_when_sampling() -> None:
    assert reported_seed(7, False, "x") is None
    assert reported_seed(7, True, "x") == 7
    drawn = reported_seed(None, True, "x")
    assert isinstance(drawn, int)
    assert drawn == reported_seed(None, True, "x")
