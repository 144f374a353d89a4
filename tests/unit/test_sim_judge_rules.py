"""The simulator as a judge: rules script the first token's top logprobs, served where a chat request asks for
logprobs (plain and streamed); the packaged judge rules file loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from evalclient.sim.rules import RulesError, load_rules, parse_rules

ROOT = Path(__file__).resolve().parents[2]
RULES = parse_rules(
    {
        "rules": [
            {"match": "Best Model", "response": "M", "top_logprobs": {"m": -1.5, "M": -0.25, "The": -3.0}},
            {"match": "anything", "response": "plain words"},
        ]
    }
)


def test_top_logprobs_are_parsed_most_likely_first() -> None:
    assert RULES.rules[0].top_logprobs == (("M", -0.25), ("m", -1.5), ("The", -3.0))
    assert RULES.scripted("## Best Model Identifier", "x") == (
        "M",
        (("M", -0.25), ("m", -1.5), ("The", -3.0)),
    )
    assert RULES.scripted("anything", "x") == ("plain words", ())


@pytest.mark.parametrize("bad", [{"m": 0.5}, {"m": "high"}, ["m"], {"m": True}])
def test_bad_top_logprobs_are_refused(bad: Any) -> None:
    with pytest.raises(RulesError, match=r"rules\[0\]\.top_logprobs: must map tokens to logprobs"):
        parse_rules({"rules": [{"match": "x", "response": "y", "top_logprobs": bad}]})


async def _chat(url: str, content: str, **extra: Any) -> Any:
    body = {"model": "tgi", "messages": [{"role": "user", "content": content}], "max_tokens": 5, **extra}
    async with aiohttp.ClientSession() as session, session.post(url + "/v1/chat/completions", json=body) as r:
        if not extra.get("stream"):
            return await r.json()
        return [json.loads(line[5:]) for line in (await r.text()).splitlines() if line.startswith("data:{")]


async def test_a_judge_rule_serves_its_top_logprobs(start_sim: Any) -> None:
    url = await start_sim(RULES)
    plain = await _chat(url, "## Best Model Identifier", logprobs=True, top_logprobs=2)
    [first, eos] = plain["choices"][0]["logprobs"]["content"]
    assert first == {
        "token": "M",
        "logprob": -0.25,
        "top_logprobs": [{"token": "M", "logprob": -0.25}, {"token": "m", "logprob": -1.5}],
    }
    assert eos["top_logprobs"] == [{"token": eos["token"], "logprob": eos["logprob"]}]
    chunks = await _chat(url, "## Best Model Identifier", logprobs=True, top_logprobs=5, stream=True)
    streamed = chunks[0]["choices"][0]["logprobs"]["content"][0]
    assert [t["token"] for t in streamed["top_logprobs"]] == ["M", "m", "The"]
    without_top = await _chat(url, "## Best Model Identifier", logprobs=True)
    assert without_top["choices"][0]["logprobs"]["content"][0]["top_logprobs"] == []


async def test_other_tokens_are_their_own_top(start_sim: Any) -> None:
    url = await start_sim(RULES)
    body = await _chat(url, "anything", logprobs=True, top_logprobs=3)
    tokens = body["choices"][0]["logprobs"]["content"]
    assert [t["token"] for t in tokens][:2] == ["plain", " words"]
    assert all(t["top_logprobs"] == [{"token": t["token"], "logprob": t["logprob"]}] for t in tokens)


def test_the_packaged_judge_rules_load() -> None:
    rules = load_rules(ROOT / "evalclient" / "sim" / "data" / "judge_rules.yaml")
    assert len(rules.rules) == 26
    assert sum(1 for r in rules.rules if r.top_logprobs) == 4
