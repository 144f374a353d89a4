"""Scripted answers: a YAML rules file maps prompt patterns (and optionally model ids) to responses.

Format::

    default: "text used when no rule matches"      # optional
    rules:
      - match: "capital of France"                 # regex, re.search with DOTALL on the prompt text
        response: "The capital of France is Paris."
        model: "Qwen2\\.5"                          # optional regex on --model-id
        top_logprobs: {"m": -0.1, "M": -2.4}       # optional: the first token's alternatives (a judge's)

The first matching rule wins. `top_logprobs` scripts what a request asking for logprobs gets as the first
generated token's top alternatives (the token itself gets its logprob from there when it is listed).
Without a match (and without `default`) the answer is derived from a hash of the prompt, e.g. "I am not
certain. The answer is 37.", so numeric extraction has something to find.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_RULE_KEYS = {"match", "response", "model", "top_logprobs"}
_IGNORED_RULE_KEYS = {"name", "id", "comment", "description"}
_TOP_KEYS = {"rules", "default"}
_IGNORED_TOP_KEYS = {"version", "description", "comment"}
_DEFAULT_TEMPLATES = (
    "I am not certain. The answer is {n}.",
    "Let me think step by step. The answer is {n}.",
    "Based on the information given, the answer is {n}.",
)


class RulesError(ValueError):
    """The rules file cannot be read or is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Rule:
    """One scripted answer: `response` when `match` finds the prompt (and `model` the model id)."""

    match: re.Pattern[str]
    response: str
    model: re.Pattern[str] | None = None
    top_logprobs: tuple[tuple[str, float], ...] = ()

    def applies(self, prompt: str, model_id: str) -> bool:
        """Whether this rule answers `prompt` for `model_id`."""
        if self.model is not None and self.model.search(model_id) is None:
            return False
        return self.match.search(prompt) is not None


@dataclass(frozen=True)
class RuleSet:
    """Rules in file order, an optional default answer, and where they came from."""

    rules: tuple[Rule, ...] = ()
    default: str | None = None
    source: str | None = None

    def answer(self, prompt: str, model_id: str) -> str:
        """The first matching rule's response, else the default, else a hash-derived answer."""
        return self.scripted(prompt, model_id)[0]

    def scripted(self, prompt: str, model_id: str) -> tuple[str, tuple[tuple[str, float], ...]]:
        """The answer and the first token's scripted alternatives (none without a matching rule)."""
        for rule in self.rules:
            if rule.applies(prompt, model_id):
                return rule.response, rule.top_logprobs
        if self.default is not None:
            return self.default, ()
        return fallback_answer(prompt), ()


def fallback_answer(prompt: str) -> str:
    """A deterministic answer ending with a number in [0, 100) that depends on the prompt."""
    digest = zlib.crc32(prompt.encode("utf-8"))
    template = _DEFAULT_TEMPLATES[(digest >> 8) % len(_DEFAULT_TEMPLATES)]
    return template.format(n=digest % 100)


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file; raise RulesError with one line saying what is wrong where."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"rules file {source}: cannot read it ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise RulesError(f"rules file {source}: not valid YAML ({detail})") from exc
    return parse_rules(data, source)


def parse_rules(data: Any, source: str = "<rules>") -> RuleSet:
    """Validate already-parsed YAML (None is an empty rule set)."""
    if data is None:
        return RuleSet(source=source)
    if not isinstance(data, dict):
        raise RulesError(f"rules file {source}: the top level must be a mapping with a `rules` list")
    unknown = set(data) - _TOP_KEYS - _IGNORED_TOP_KEYS
    if unknown:
        raise RulesError(
            f"rules file {source}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}"
        )
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise RulesError(f"rules file {source}: `default` must be a string")
    entries = data.get("rules") or []
    if not isinstance(entries, list):
        raise RulesError(f"rules file {source}: `rules` must be a list")
    rules = tuple(_parse_rule(entry, f"rules file {source}: rules[{i}]") for i, entry in enumerate(entries))
    return RuleSet(rules=rules, default=default, source=source)


def _parse_rule(entry: Any, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise RulesError(f"{where}: must be a mapping with `match` and `response`")
    unknown = set(entry) - _RULE_KEYS - _IGNORED_RULE_KEYS
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    for key in ("match", "response"):
        if not isinstance(entry.get(key), str):
            raise RulesError(f"{where}: `{key}` is required and must be a string")
    model = entry.get("model")
    if model is not None and not isinstance(model, str):
        raise RulesError(f"{where}: `model` must be a string (a regex on the model id)")
    return Rule(
        match=_compile(entry["match"], f"{where}.match", re.DOTALL),
        response=entry["response"],
        model=None if model is None else _compile(model, f"{where}.model", 0),
        top_logprobs=_top_logprobs(entry.get("top_logprobs"), f"{where}.top_logprobs"),
    )


def _top_logprobs(value: Any, where: str) -> tuple[tuple[str, float], ...]:
    """A mapping token -> logprob (<= 0), most likely first."""
    if value is None:
        return ()
    valid = isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v <= 0
        for k, v in value.items()
    )
    if not valid:
        raise RulesError(f"{where}: must map tokens to logprobs (numbers <= 0)")
    return tuple(sorted(((k, float(v)) for k, v in value.items()), key=lambda pair: -pair[1]))


def _compile(pattern: str, where: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RulesError(f"{where}: invalid regex {pattern!r} ({exc})") from exc
