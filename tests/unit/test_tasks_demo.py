"""The demo data and the simulator's demo rules: each question hits only its own rules, and the scores
of every model family come out as the rules file promises."""

from __future__ import annotations

import asyncio
import filecmp
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from recording_model import RecordingModel

from evalclient.client import ChatRequest, Completion, LoglikelihoodRequest, RequestKind, ServerClient
from evalclient.tasks import DatasetManager, get_task
from evalclient.tasks.base import Sample, SampleOutput, TaskOptions, TaskSpec
from evalclient.tasks.context import ScoreContext

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "evalclient" / "sim" / "data" / "demo"
RULES_FILE = ROOT / "evalclient" / "sim" / "data" / "demo_rules.yaml"
FIXTURES = ROOT / "tests" / "fixtures"
DATASETS = ("gsm8k", "arc_challenge", "hellaswag", "bfcl")
GENERATIVE = ("gsm8k", "arc_challenge")  # the demo runs arc generatively, hellaswag by log-likelihood
RULE_PREFIX = {"gsm8k": "gsm8k", "arc_challenge": "arc", "hellaswag": "hellaswag", "bfcl": "bfcl"}
BFCL_CATEGORIES = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel")
# served model id -> suffix of its own rules' names ("" = the default rule)
MODELS = {
    "Qwen/Qwen3-8B": "-qwen3",
    "Qwen/Qwen3-14B": "-qwen3",
    "Qwen/Qwen2.5-7B-Instruct": "-qwen2.5",
    "Qwen/Qwen2.5-14B-Instruct": "-qwen2.5",
    "Qwen/Qwen-7B-Chat": "-qwen1",
    "Qwen/Qwen-14B-Chat": "-qwen1",
    "tgi-sim": "",
}
# model family -> dataset -> the metrics the rules are written to produce
EXPECTED: dict[str, dict[str, dict[str, Any]]] = {
    "-qwen3": {
        "gsm8k": {"accuracy": 11 / 12, "exact_match_strict": 11 / 12, "num_failed_parse": 0},
        "arc_challenge": {"accuracy": 11 / 12, "num_failed_parse": 0},
        "hellaswag": {"acc": 11 / 12, "acc_norm": 11 / 12},
        "bfcl": {
            "accuracy": 11 / 12,
            "ast_accuracy": 0.875,
            "irrelevance_accuracy": 1.0,
            "function_calling_success_rate": 1.0,
            "num_failed_parse": 0,
            "accuracy_by_category": {
                **dict.fromkeys(BFCL_CATEGORIES, 1.0),
                "parallel": 0.5,
                "parallel_multiple": 1.0,
                "irrelevance": 1.0,
            },
            "error_types": {"parallel_function_checker_no_order:cannot_find_match": 1},
        },
    },
    "-qwen2.5": {
        "gsm8k": {"accuracy": 9 / 12, "exact_match_strict": 8 / 12, "num_failed_parse": 0},
        "arc_challenge": {"accuracy": 9 / 12, "num_failed_parse": 0},
        "hellaswag": {"acc": 9 / 12, "acc_norm": 9 / 12},
        "bfcl": {
            "accuracy": 9 / 12,
            "ast_accuracy": 2 / 3,
            "irrelevance_accuracy": 0.5,
            "function_calling_success_rate": 1.0,
            "num_failed_parse": 0,
            "accuracy_by_category": {
                **dict.fromkeys(BFCL_CATEGORIES, 1.0),
                "simple_java": 0.0,
                "parallel_multiple": 0.0,
                "irrelevance": 0.5,
            },
            "error_types": {
                "irrelevance_error:decoder_success": 1,
                "parallel_function_checker_no_order:wrong_count": 1,
                "type_error:simple": 1,
            },
        },
    },
    "-qwen1": {
        "gsm8k": {"accuracy": 6 / 12, "exact_match_strict": 3 / 12, "num_failed_parse": 1},
        "arc_challenge": {"accuracy": 6 / 12, "num_failed_parse": 1},
        "hellaswag": {"acc": 6 / 12, "acc_norm": 6 / 12},
        "bfcl": {
            "accuracy": 6 / 12,
            "ast_accuracy": 4 / 9,
            "irrelevance_accuracy": 0.5,
            "function_calling_success_rate": 9 / 10,
            "num_failed_parse": 1,
            "accuracy_by_category": {
                **dict.fromkeys(BFCL_CATEGORIES, 0.5),
                "simple_python": 1 / 3,
                "simple_java": 1.0,
                "simple_javascript": 1.0,
                "parallel_multiple": 0.0,
                "irrelevance": 0.5,
            },
            "error_types": {
                "ast_decoder:decoder_failed": 1,
                "irrelevance_error:decoder_success": 1,
                "parallel_function_checker_no_order:wrong_count": 1,
                "simple_function_checker:missing_optional": 1,
                "type_error:simple": 1,
                "value_error:others": 1,
            },
        },
    },
    "": {
        "gsm8k": {"accuracy": 1.0, "exact_match_strict": 1.0, "num_failed_parse": 0},
        "arc_challenge": {"accuracy": 1.0, "num_failed_parse": 0},
        "hellaswag": {"acc": 1.0, "acc_norm": 1.0},
        "bfcl": {
            "accuracy": 1.0,
            "ast_accuracy": 1.0,
            "irrelevance_accuracy": 1.0,
            "function_calling_success_rate": 1.0,
            "num_failed_parse": 0,
            "accuracy_by_category": {
                **dict.fromkeys(BFCL_CATEGORIES, 1.0),
                "parallel_multiple": 1.0,
                "irrelevance": 1.0,
            },
            "error_types": {},
        },
    },
}


@dataclass(frozen=True)
class Rule:
    name: str
    match: re.Pattern[str]
    model: re.Pattern[str] | None
    response: str


def _rules() -> list[Rule]:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return [
        Rule(
            name=entry["name"],
            match=re.compile(entry["match"], re.DOTALL),  # as the simulator compiles them
            model=re.compile(entry["model"]) if "model" in entry else None,
            response=entry["response"],
        )
        for entry in data["rules"]
    ]


def _samples(name: str) -> list[Sample]:
    return DatasetManager(data_dir=DEMO).get_evaluation_samples(name, 100)


def _task(name: str) -> TaskSpec:
    """The task as the demo runs it."""
    mode = "generative" if name == "arc_challenge" else None
    return get_task(name).with_options(TaskOptions(mode=mode))


def _prompt(name: str, sample: Sample) -> str:
    """The text the simulator searches: the chat-templated messages, or the log-likelihood context."""
    model = RecordingModel()
    solver = _task(name).solver
    assert solver is not None
    asyncio.run(solver(sample, model))
    request = model.requests[0]
    if isinstance(request, LoglikelihoodRequest):
        return request.context
    assert isinstance(request, ChatRequest)
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in request.messages)
    return turns + "<|im_start|>assistant\n"


def _prompts() -> dict[tuple[str, int], str]:
    return {
        (name, index): _prompt(name, sample)
        for name in DATASETS
        for index, sample in enumerate(_samples(name))
    }


def _rounded(value: Any) -> Any:
    """Floats to 9 places, inside dicts too (pytest.approx does not nest)."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 9) if isinstance(value, float) else value


def _first_rule(rules: list[Rule], prompt: str, model_id: str) -> Rule | None:
    for rule in rules:
        if (rule.model is None or rule.model.search(model_id)) and rule.match.search(prompt):
            return rule
    return None


def test_demo_files_are_the_fixtures() -> None:  # bfcl's demo rows: seven categories, in the hub schema
    for name in DATASETS:
        assert filecmp.cmp(DEMO / f"{name}.jsonl", FIXTURES / f"{name}.jsonl", shallow=False)
        assert len(_samples(name)) == 12


def test_arc_demo_has_numeric_and_five_labels() -> None:
    label_sets = {tuple(s.row["choices"]["label"]) for s in _samples("arc_challenge")}
    assert ("1", "2", "3", "4") in label_sets
    assert ("A", "B", "C", "D", "E") in label_sets


def test_every_rule_matches_exactly_one_demo_question() -> None:
    prompts = _prompts()
    for rule in _rules():
        if rule.name.startswith("probe-"):
            continue
        hits = [key for key, prompt in prompts.items() if rule.match.search(prompt)]
        assert len(hits) == 1, f"{rule.name} matches {hits}"
        (dataset, index) = hits[0]
        number = index if dataset == "gsm8k" else index + 1
        assert rule.name.startswith(f"{RULE_PREFIX[dataset]}-{number:02d}"), rule.name


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_each_question_gets_its_intended_rule(model_id: str) -> None:
    rules = _rules()
    own = {rule.name for rule in rules}
    for (dataset, index), prompt in _prompts().items():
        number = index if dataset == "gsm8k" else index + 1
        base = f"{RULE_PREFIX[dataset]}-{number:02d}"
        chosen = _first_rule(rules, prompt, model_id)
        assert chosen is not None, f"no rule answers {base} for {model_id}"
        expected = base + MODELS[model_id] if base + MODELS[model_id] in own else base
        assert chosen.name == expected


@pytest.mark.parametrize("model_id", sorted(MODELS))
@pytest.mark.parametrize("dataset", GENERATIVE)
def test_models_score_as_the_rules_promise(model_id: str, dataset: str) -> None:
    rules = _rules()
    samples = _samples(dataset)
    outputs = {}
    for sample in samples:
        rule = _first_rule(rules, _prompt(dataset, sample), model_id)
        assert rule is not None
        completion = Completion(sample.id, RequestKind.CHAT, text=rule.response, finish_reason="stop")
        outputs[sample.id] = SampleOutput(sample.id, [completion])
    task = _task(dataset)
    assert task.scorer is not None
    metrics = asyncio.run(task.scorer(samples, outputs, ScoreContext())).metrics
    expected = EXPECTED[MODELS[model_id]][dataset]
    assert {key: metrics[key] for key in expected} == pytest.approx(expected)
    assert metrics["num_samples"] == 12
    assert metrics["num_errors"] == 0


@pytest.mark.parametrize("model_id", sorted(MODELS))
async def test_loglikelihood_demo_scores_through_the_simulator(model_id: str, start_sim: Any) -> None:
    """HellaSwag by log-likelihood end to end: the real simulator's prefill logprobs, the real client."""
    from evalclient.engines import get_adapter
    from evalclient.engines.model import DeploymentModel
    from evalclient.sim.rules import load_rules
    from evalclient.tasks.solving import solve_samples

    url = await start_sim(load_rules(RULES_FILE), model_id=model_id, prefill_logprobs=True)
    task = _task("hellaswag")
    samples = _samples("hellaswag")
    async with ServerClient(url, protocols=get_adapter("tgi").protocols()) as client:
        outputs = await solve_samples(task, samples, DeploymentModel(client, get_adapter("tgi"), "none"))
    assert task.scorer is not None
    metrics = (await task.scorer(samples, {o.sample_id: o for o in outputs}, ScoreContext())).metrics
    expected = EXPECTED[MODELS[model_id]]["hellaswag"]
    assert {key: metrics[key] for key in expected} == pytest.approx(expected)
    assert (metrics["mode"], metrics["num_samples"], metrics["num_errors"]) == ("loglikelihood", 12, 0)


@pytest.mark.parametrize("model_id", sorted(MODELS))
async def test_bfcl_demo_scores_through_the_simulator(model_id: str, start_sim: Any) -> None:
    """bfcl in native mode end to end: a lenient simulator (several calls per turn, as vLLM and SGLang
    answer; TGI admits one) turns the scripted calls into streamed tool calls (one, or several in parallel),
    the client assembles them (or reads Qwen's markup), the checker scores them."""
    from evalclient.engines import get_adapter
    from evalclient.engines.model import DeploymentModel
    from evalclient.sim.rules import load_rules
    from evalclient.tasks.solving import solve_samples

    url = await start_sim(load_rules(RULES_FILE), model_id=model_id, engine_limits="none")
    task = _task("bfcl")
    samples = _samples("bfcl")
    async with ServerClient(url, protocols=get_adapter("tgi").protocols()) as client:
        outputs = await solve_samples(task, samples, DeploymentModel(client, get_adapter("tgi"), "none"))
    assert all(len(o.completions[0].tool_calls) == 2 for o in outputs if o.sample_id == "parallel_1")
    assert task.scorer is not None
    result = await task.scorer(samples, {o.sample_id: o for o in outputs}, ScoreContext())
    expected = EXPECTED[MODELS[model_id]]["bfcl"]
    assert _rounded({key: result.metrics[key] for key in expected}) == _rounded(expected)
    assert (result.metrics["mode"], result.metrics["num_samples"], result.metrics["num_errors"]) == (
        "native",
        12,
        0,
    )
    sources = {c.source for o in outputs for c in o.completions[0].tool_calls}
    assert sources == ({"api", "text"} if MODELS[model_id] in ("-qwen3", "-qwen2.5") else {"api"})


def test_the_simulator_reads_the_demo_rules() -> None:
    rules_module = pytest.importorskip("evalclient.sim.rules")
    rule_set = rules_module.load_rules(RULES_FILE)
    mine = _rules()
    for (dataset, _), prompt in _prompts().items():
        if dataset == "hellaswag":
            continue
        for model_id in MODELS:
            rule = _first_rule(mine, prompt, model_id)
            assert rule is not None
            assert rule_set.answer(prompt, model_id) == rule.response
