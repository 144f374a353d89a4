"""Log-likelihood requests split as lm-evaluation-harness splits them, and degenerate choices scored as it
scores them (lm-eval v0.4.12: `TemplateLM._encode_pair` in lm_eval/api/model.py; HellaSwag's
`preprocess` in lm_eval/tasks/hellaswag/utils.py; `process_results` in lm_eval/api/task.py).

The server is the TGI simulator, whose tokenizer is the one the expected splits are computed with.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from evalclient.client import LoglikelihoodRequest, ServerClient
from evalclient.client.completion import Completion
from evalclient.client.protocols.loglikelihood import ScoredPrompt
from evalclient.client.protocols.tgi import TGILoglikelihood
from evalclient.client.requests import RequestKind
from evalclient.engines import get_adapter
from evalclient.sim.rules import parse_rules
from evalclient.sim.tokenizer import tokenize
from evalclient.tasks import get_task
from evalclient.tasks.base import Sample, SampleOutput
from evalclient.tasks.context import ScoreContext
from evalclient.tasks.hellaswag import hellaswag_item
from evalclient.tasks.multiple_choice import argmax, per_character

# WikiHow rows whose context, cleaned, ends in whitespace: a trailing `[step]` tag removed leaves its space.
ROWS = [
    {
        "activity_label": "Home and Garden",
        "ctx_a": "[header] How to plant a sapling [title] Choose a sunny spot.",
        "ctx_b": "[step] ",
        "endings": [
            "Dig a hole twice as wide as the root ball.",
            "[substeps] Paint the fence blue.",
            "Water the roots before you plant them.",
            "Bury the sapling upside down.",
        ],
        "label": "0",
    },
    {
        "activity_label": "Food and Entertaining",
        "ctx_a": "[header] How to brew tea [title] Boil fresh water. [step] Warm the pot.",
        "ctx_b": "[substeps] ",
        "endings": ["Add one spoon per cup.", "Freeze the kettle.", "Pour in cold milk first.", "Skip it."],
        "label": "0",
    },
]


def lm_eval_preprocess(text: str) -> str:
    """lm-eval v0.4.12's HellaSwag clean-up, written from its utils.py."""
    text = text.strip().replace(" [title]", ". ")
    return re.sub("\\[.*?\\]", "", text).replace("  ", " ")


def lm_eval_split(context: str, continuation: str) -> tuple[list[str], list[str]]:
    """`_encode_pair` for a causal model: trailing whitespace moves, the whole is encoded, then split."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole, head = tokenize(context + continuation), tokenize(context)
    return head, whole[len(head) :]


def _samples() -> list[Sample]:
    return [Sample(id=str(i), row=row) for i, row in enumerate(ROWS)]


def test_the_cleaned_contexts_end_in_whitespace() -> None:
    for sample in _samples():
        row = sample.row
        query = lm_eval_preprocess(
            row["activity_label"] + ": " + row["ctx_a"] + " " + row["ctx_b"].capitalize()
        )
        item = hellaswag_item(sample)
        assert item.context == query
        assert query.endswith(" ")
        assert not query.endswith("  ")
        assert list(item.choices) == [lm_eval_preprocess(e) for e in row["endings"]]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, ScoredPrompt]:
    """Every prompt the protocol had the server score, with what the server returned."""
    prompts: dict[str, ScoredPrompt] = {}
    original = TGILoglikelihood.score_prompt

    async def score_prompt(self: TGILoglikelihood, http: Any, text: str, model: str) -> ScoredPrompt:
        prompts[text] = await original(self, http, text, model)
        return prompts[text]

    monkeypatch.setattr(TGILoglikelihood, "score_prompt", score_prompt)
    return prompts


async def test_requests_split_context_and_continuation_as_lm_eval(
    start_sim: Callable[..., Any], recorded: dict[str, ScoredPrompt]
) -> None:
    url = await start_sim(parse_rules({"rules": []}), model_id="Qwen/Qwen3-8B", prefill_logprobs=True)
    task = get_task("hellaswag")
    async with ServerClient(url, protocols=get_adapter("tgi").protocols()) as client:
        for sample in _samples():
            item = hellaswag_item(sample)
            for index, choice in enumerate(item.choices):
                request = LoglikelihoodRequest(f"{sample.id}#{index}", item.context, " " + choice)
                record = await client.loglikelihood(request)
                assert record.ok, record.error
                head, expected = lm_eval_split(item.context, " " + choice)
                assert expected[0].startswith("  ")  # the context's space is scored with the choice
                full = recorded[item.context + " " + choice]
                assert [t.text for t in full.tokens[len(head) :]] == expected
                assert record.continuation_tokens == len(expected)
                assert record.loglikelihood == sum(t.logprob or 0.0 for t in full.tokens[len(head) :])
            # the context was scored alone without its trailing space, once for all four choices
            assert [t.text for t in recorded[item.context.rstrip()].tokens] == tokenize(item.context.rstrip())
            assert item.context not in recorded
    assert task.mode == "loglikelihood"
    assert len(recorded) == 2 + 8


def _output(sample: Sample, values: list[float]) -> SampleOutput:
    return SampleOutput(
        sample.id,
        [
            Completion(f"{sample.id}#{i}", RequestKind.LOGLIKELIHOOD, loglikelihood=v, continuation_tokens=2)
            for i, v in enumerate(values)
        ],
    )


async def test_an_ending_that_cleans_to_nothing_scores_like_numpy() -> None:
    """An ending of only a tag cleans to "": lm-eval's numpy division makes its per-character score -inf, and
    the row is scored; here the same, never a ZeroDivisionError for the combination."""
    rows = [
        {**ROWS[0], "endings": ["[step]", "Dig a hole.", "Water it.", "Plant it deep."], "label": "1"},
        {**ROWS[1], "endings": ["Add tea.", "[title]", "Stir.", "Wait."], "label": "0"},
    ]
    samples = [Sample(id=str(i), row=row) for i, row in enumerate(rows)]
    assert hellaswag_item(samples[0]).choices[0] == ""
    lls = {"0": [-0.5, -6.0, -4.0, -9.0], "1": [-3.0, -2.0, -2.5, -2.4]}
    outputs = {s.id: _output(s, lls[s.id]) for s in samples}
    task = get_task("hellaswag")
    assert task.scorer is not None
    result = await task.scorer(samples, outputs, ScoreContext())
    for sample in samples:
        choices = hellaswag_item(sample).choices
        # lm-eval: pred = argmax(lls), pred_norm = argmax(lls / completion_len), numpy floats
        with np.errstate(divide="ignore"):
            norm = np.array(lls[sample.id]) / np.array([float(len(c)) for c in choices])
        verdict = result.per_sample[sample.id]
        assert verdict["predicted"] == int(np.argmax(lls[sample.id]))
        assert verdict["predicted_norm"] == int(np.argmax(norm))
    assert (result.per_sample["0"]["predicted"], result.per_sample["0"]["predicted_norm"]) == (0, 2)
    assert (result.metrics["acc"], result.metrics["acc_norm"]) == (0.0, 0.5)


def test_division_and_argmax_are_numpys() -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.array([-2.0, 0.0, 3.0]) / np.zeros(3)
    got = [per_character(v, 0) for v in (-2.0, 0.0, 3.0)]
    assert (got[0], math.isnan(got[1]), got[2]) == (expected[0], True, expected[2])
    for values in ([1.0, math.nan, 3.0], [-math.inf, -1.0, -1.0], [-math.inf, -math.inf], [2.0, math.inf]):
        assert argmax(values) == int(np.argmax(values)), values
