"""The plan: the default sweep is 216 combinations in 18 deployments; sample caps come from sweep.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalclient.config import load_config
from evalclient.planning.plan import DatasetJob, build_plan, samples_for

PRESETS = Path(__file__).resolve().parents[2] / "presets"


def test_default_sweep_is_216_combinations_in_18_deployments() -> None:
    config = load_config(PRESETS)
    plan = build_plan(
        config,
        models=config.sweep.models,
        presets=config.sweep.presets,
        datasets=tuple(config.sweep.datasets),
        samples=None,
        engine="tgi",
        image=None,
    )
    assert plan.combinations == 216
    assert len(plan.deployments) == 18
    assert plan.deployments[0].key == "qwen2.5_8b_balanced"
    assert plan.requests == 18 * (164 + 200 * 4 + 160 + 150 * 6)


def test_sample_counts_come_from_the_sweep_caps_or_an_explicit_request() -> None:
    caps = {"humaneval": 164, "bfcl": 200, "gsm8k": 150}
    assert samples_for("bfcl", None, caps) == DatasetJob("bfcl", 200)
    assert samples_for("gsm8k", 10, caps) == DatasetJob("gsm8k", 10)
    above = samples_for("humaneval", 500, caps)  # an explicit count above the cap runs, and says so
    assert above == DatasetJob("humaneval", 500, "humaneval: --samples 500 is above the sweep's cap of 164")
    assert samples_for("gsm8k", "all", caps) == DatasetJob(
        "gsm8k", None, "gsm8k: the whole split (--samples all)"
    )
    assert samples_for("mmlu", None, caps) == DatasetJob(
        "mmlu", 150, "mmlu: no cap in sweep.yaml; 150 samples"
    )
    assert samples_for("mmlu", 42, caps) == DatasetJob("mmlu", 42)


def test_plan_of_whole_splits_has_no_request_total() -> None:
    config = load_config(PRESETS)
    plan = build_plan(
        config,
        models=["qwen3_8b"],
        presets=["balanced"],
        datasets=["gsm8k"],
        samples="all",
        engine="tgi",
        image=None,
    )
    assert plan.requests is None
    assert plan.deployments[0].datasets[0].label == "all"
    assert plan.notes() == ["gsm8k: the whole split (--samples all)"]


def test_weights_estimate_follows_quantization() -> None:
    config = load_config(PRESETS)
    plan = build_plan(
        config,
        models=["qwen2.5_14b"],
        presets=["balanced", "memory_optimized"],
        datasets=["gsm8k"],
        samples=5,
        engine="tgi",
        image=None,
    )
    bf16, fp8 = (d.weights_gb() for d in plan.deployments)
    assert (bf16, fp8) == (pytest.approx(29.4), pytest.approx(14.7))
    qwen3 = build_plan(
        config,
        models=["qwen3_14b"],
        presets=["memory_optimized"],
        datasets=["gsm8k"],
        samples=5,
        engine="tgi",
        image=None,
    )
    # TGI 3.3.7 serves Qwen3 through its transformers fallback, which applies no fp8: 16-bit weights
    assert qwen3.deployments[0].weights_gb() == pytest.approx(29.6)
