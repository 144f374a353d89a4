"""AlpacaEval's default annotator prompt (`weighted_alpaca_eval_gpt4_turbo`, whose template is
`alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt` in the alpaca-eval package), carried over as data, split into
the system and user messages as AlpacaEval's chat decoder splits it.

The judge answers one token, the identifier of the better output: `m` (shown first) or `M` (shown second).
AlpacaEval asks for it with max_tokens 1 and the top 5 logprobs, and reads the preference from them.
"""

from __future__ import annotations

import re

FIRST, SECOND = "m", "M"
TOP_LOGPROBS = 5

SYSTEM = (
    "You are a highly efficient assistant, who evaluates and selects the best large language model "
    "(LLMs) based on the quality of their responses to a given instruction. This process will be "
    "used to create a leaderboard reflecting the most accurate and human-preferred answers."
)

USER_TEMPLATE = """\
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

## Best Model Identifier"""

_FIELD = re.compile(r"\{(instruction|output_1|output_2)\}")


def user_prompt(instruction: str, output_1: str, output_2: str) -> str:
    """The user message with the instruction and the two outputs in place (values are not re-scanned)."""
    values = {"instruction": instruction, "output_1": output_1, "output_2": output_2}
    return _FIELD.sub(lambda match: values[match.group(1)], USER_TEMPLATE)
