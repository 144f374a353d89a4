"""AlpacaEval's annotator prompts, carried over verbatim as data (alpaca_eval 0.6.6,
src/alpaca_eval/evaluators_configs/), filled and split into chat messages as AlpacaEval does it:

- AlpacaEval 2.0's `weighted_alpaca_eval_gpt4_turbo` (`alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt`): the
  judge answers one token, the identifier of the better output: `m` (shown first) or `M` (shown second),
  asked for with max_tokens 1 and the top 5 logprobs, the preference read from them;
- AlpacaEval 1's `alpaca_eval_gpt4` (`alpaca_eval_gpt4/alpaca_eval.txt`): the judge ranks `model_1` and
  `model_2` in a Python list.

Filling (utils.make_prompts): each placeholder, in the order of its first appearance, replaces the first
`{name}` left in the text, so a value that holds a later placeholder's name is filled in its place, as
there. Splitting (utils.prompt_to_chatml): the text is cut at `<|im_start|>`, the first line of each part is
the role and the rest up to `<|im_end|>`, stripped, its content.
"""

from __future__ import annotations

import re

FIRST, SECOND = "m", "M"
TOP_LOGPROBS = 5
START, END = "<|im_start|>", "<|im_end|>"

CLF_TEMPLATE = """\
<|im_start|>system
You are a highly efficient assistant, who evaluates and selects the best large language model (LLMs) based on the quality of their responses to a given instruction. This process will be used to create a leaderboard reflecting the most accurate and human-preferred answers.
<|im_end|>
<|im_start|>user
I require a leaderboard for various large language models. I'll provide you with prompts given to these models and their corresponding outputs. Your task is to assess these responses, and select the model that produces the best output from a human perspective.

## Instruction

{
    "instruction": \"\"\"{instruction}\"\"\",
}

## Model Outputs

Here are the unordered outputs from the models. Each output is associated with a specific model, identified by a unique model identifier.

{
    {
        "model_identifier": "m",
        "output": \"\"\"{output_1}\"\"\"
    },
    {
        "model_identifier": "M",
        "output": \"\"\"{output_2}\"\"\"
    }
}

## Task

Evaluate the models based on the quality and relevance of their outputs, and select the model that generated the best output. Answer by providing the model identifier of the best model. We will use your output as the name of the best model, so make sure your output only contains one of the following model identifiers and nothing else (no quotes, no spaces, no new lines, ...): m or M.

## Best Model Identifier
<|im_end|>"""

V1_TEMPLATE = """\
<|im_start|>system
You are a helpful assistant, that ranks models by the quality of their answers.
<|im_end|>
<|im_start|>user
I want you to create a leaderboard of different of large-language models. To do so, I will give you the instructions (prompts) given to the models, and the responses of two models. Please rank the models based on which responses would be preferred by humans. All inputs and outputs should be python dictionaries.

Here is the prompt:
{
    "instruction": \"\"\"{instruction}\"\"\",
}

Here are the outputs of the models:
[
    {
        "model": "model_1",
        "answer": \"\"\"{output_1}\"\"\"
    },
    {
        "model": "model_2",
        "answer": \"\"\"{output_2}\"\"\"
    }
]

Now please rank the models by the quality of their answers, so that the model with rank 1 has the best output. Then return a list of the model names and ranks, i.e., produce the following output:
[
    {'model': <model-name>, 'rank': <model-rank>},
    {'model': <model-name>, 'rank': <model-rank>}
]

Your response must be a valid Python dictionary and should contain nothing else because we will directly execute it in Python. Please provide the ranking that the majority of humans would give.
<|im_end|>"""

_PLACEHOLDER = re.compile(r"{([^ \s]+?)}")


def fill(template: str, values: dict[str, str]) -> str:
    """The template with each placeholder's first remaining occurrence replaced, in the order the
    placeholders first appear in it."""
    text = template
    for name in dict.fromkeys(_PLACEHOLDER.findall(template)):
        text = text.replace("{" + name + "}", values[name], 1)
    return text


def chat_messages(prompt: str) -> tuple[dict[str, str], ...]:
    """The prompt split into chat messages at its `<|im_start|>` tags."""
    messages = []
    for part in prompt.strip().split(START)[1:]:
        role, _, rest = part.partition("\n")
        messages.append({"role": role.strip(), "content": rest.split(END, 1)[0].strip()})
    return tuple(messages)


def judge_messages(
    template: str, instruction: str, output_1: str, output_2: str
) -> tuple[dict[str, str], ...]:
    """The judge's messages for one comparison (output_1 shown first)."""
    return chat_messages(
        fill(template, {"instruction": instruction, "output_1": output_1, "output_2": output_2})
    )
