"""The check before any log-likelihood run: does the server return prompt logprobs that mean something?

A server that returns no prefill logprobs, or logprobs of generated tokens only, makes multiple-choice
scores silently land at chance (llama.cpp and completions endpoints without echo have done so). Two
continuations of a question anyone knows are scored; the right one must come out ahead. A failure stops the
deployment's log-likelihood combinations with the reason; generative mode still works.
"""

from __future__ import annotations

import asyncio

from evalclient.client.requests import LoglikelihoodRequest
from evalclient.tasks.base import ModelHandle

PROBE_PASSED = "passed"
CONTEXT = "Q: What is the capital city of France?\nA: The capital city of France is"
RIGHT, WRONG = " Paris.", " a banana."
HINT = "or run multiple-choice tasks generatively (--mc-mode generative)"


async def probe_loglikelihood(model: ModelHandle) -> str:
    """PROBE_PASSED, or one line saying why this server cannot be trusted with log-likelihood scoring."""
    right, wrong = await asyncio.gather(
        model.loglikelihood(LoglikelihoodRequest("probe-right", CONTEXT, RIGHT)),
        model.loglikelihood(LoglikelihoodRequest("probe-wrong", CONTEXT, WRONG)),
    )
    for completion in (right, wrong):
        if completion.error is not None:
            return f"log-likelihood probe failed: {completion.error.message}; {HINT}"
    if right.loglikelihood is None or wrong.loglikelihood is None:
        return f"log-likelihood probe failed: the server returned no prompt logprobs; {HINT}"
    if right.loglikelihood <= wrong.loglikelihood:
        return (
            f"log-likelihood probe failed: the server rates {WRONG!r} ({wrong.loglikelihood:.2f}) at least "
            f"as likely as {RIGHT!r} ({right.loglikelihood:.2f}) after {CONTEXT.splitlines()[0]!r}: its "
            f"prompt logprobs are not the model's; {HINT}"
        )
    return PROBE_PASSED
