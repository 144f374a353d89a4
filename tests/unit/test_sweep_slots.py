"""The runner on GPU slots with simulator processes: deployments run side by side on their own slots, and two
deployments of a model that is not in the model cache never load it at the same time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from evalclient.config import load_config
from evalclient.deploy.deployment import Deployment
from evalclient.deploy.model_cache import model_dir
from evalclient.planning.plan import build_plan
from evalclient.planning.slots import virtual_pool
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.runner import EvaluationRunner, RunOptions

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
Events = list[tuple[str, str, float]]


def _runner(out: Path, cache: Path) -> tuple[EvaluationRunner, Events]:
    plan = build_plan(CONFIG, models=["qwen3_8b"], presets=["balanced", "performance", "memory_optimized"],
                      datasets=["gsm8k"], samples=2, engine="tgi", image=None)  # fmt: skip
    options = RunOptions(
        output=out,
        data_dir=demo_data_dir(),
        local_simulator=True,
        virtual_gpus=virtual_pool("virtual:2"),
        model_cache=cache,
        ready_timeout_s=60,
    )
    runner = EvaluationRunner(CONFIG, plan, options)
    events: Events = []
    deploy = runner.provider.deploy

    @asynccontextmanager
    async def spied(plan: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Deployment]:
        events.append(("deploy", plan.key, time.monotonic()))
        async with deploy(plan, *args, **kwargs) as server:
            events.append(("ready", plan.key, time.monotonic()))
            assert server.slot is not None
            assert server.slot.virtual
            events.append(("slot", plan.key + "@" + server.slot.label, 0.0))
            yield server

    runner.provider.deploy = spied  # type: ignore[method-assign]
    return runner, events


def _when(events: Events, kind: str) -> dict[str, float]:
    return {key: t for what, key, t in events if what == kind}


@pytest.mark.timeout(120)
async def test_an_uncached_model_is_loaded_by_one_deployment_at_a_time(tmp_path: Path) -> None:
    runner, events = _runner(tmp_path / "out", tmp_path / "hf")
    runner.prepare()
    summary = await runner.run()
    assert [o.status for o in summary.outcomes] == ["complete"] * 3
    deployed, ready = _when(events, "deploy"), _when(events, "ready")
    first = min(deployed, key=deployed.__getitem__)
    others = [key for key in deployed if key != first]
    assert all(deployed[key] >= ready[first] for key in others)  # waited until the weights were in
    slots = {key.split("@")[1] for what, key, _ in events if what == "slot"}
    assert slots == {"vGPU 0", "vGPU 1"}


@pytest.mark.timeout(120)
async def test_a_cached_model_starts_on_every_free_slot_at_once(tmp_path: Path) -> None:
    cache = tmp_path / "hf"
    (model_dir(cache, "Qwen/Qwen3-8B") / "snapshots" / "0123abc").mkdir(parents=True)
    runner, events = _runner(tmp_path / "out", cache)
    runner.prepare()
    summary = await runner.run()
    assert [o.status for o in summary.outcomes] == ["complete"] * 3
    deployed, ready = _when(events, "deploy"), _when(events, "ready")
    starts = sorted(deployed.values())
    assert starts[1] < min(ready.values())  # the second slot did not wait for the first to be ready
