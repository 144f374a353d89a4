"""The scheduler: biggest deployments first, EASY backfilling that never delays the head of the queue, aligned
GPU blocks, and the default sweep's schedule on 1, 2, 4 and 8 GPUs of 24, 48 and 80 GB (pinned)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalclient.config import load_config
from evalclient.planning.plan import build_plan
from evalclient.planning.schedule import Job, Placement, Scheduler, estimate_minutes, makespan, simulate
from evalclient.planning.slots import sweep_jobs, virtual_pool

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")


def _rows(placements: list[Placement]) -> list[tuple[str, tuple[int, ...], float, float, int]]:
    return [(p.job.key, p.gpus, p.start, p.end, p.wave) for p in placements]


def test_the_biggest_deployment_goes_first_then_the_small_ones_fill_the_gpus() -> None:
    jobs = [Job("small-a", 1, 5.0), Job("big", 2, 10.0), Job("small-b", 1, 5.0)]
    assert _rows(simulate(jobs, 2)) == [
        ("big", (0, 1), 0.0, 10.0, 1),
        ("small-a", (0,), 10.0, 15.0, 2),
        ("small-b", (1,), 10.0, 15.0, 2),
    ]


def test_a_small_deployment_backfills_gpus_the_waiting_head_will_not_need() -> None:
    # A takes GPUs 0-1; B (2 GPUs) must wait for A (t=10), when 3 GPUs will be free: one spare, which D takes
    # now although it runs past t=10. C waits: no GPU is free until t=20.
    jobs = [Job("A", 2, 10.0), Job("B", 2, 10.0), Job("C", 1, 5.0), Job("D", 1, 20.0)]
    placements = simulate(jobs, 3)
    assert _rows(placements) == [
        ("A", (0, 1), 0.0, 10.0, 1),
        ("D", (2,), 0.0, 20.0, 1),
        ("B", (0, 1), 10.0, 20.0, 2),
        ("C", (0,), 20.0, 25.0, 3),
    ]
    assert makespan(placements) == 25.0  # without backfilling: 30


def test_backfilling_never_delays_the_head_of_the_queue() -> None:
    jobs = [Job("H", 4, 10.0), Job("X", 1, 10.0), Job("Y", 1, 30.0), Job("S", 1, 25.0), Job("L", 1, 40.0)]
    scheduler = Scheduler(jobs, 4)
    held = {"H", "S", "L"}  # their models are being loaded elsewhere
    first = scheduler.start_now(0.0, hold=lambda job: job.key in held)
    assert [(p.job.key, p.gpus) for p in first] == [("Y", (0,)), ("X", (1,))]
    held.clear()
    # H needs all 4 GPUs: it can start when Y ends (t=30). S ends by then and may start; L (40 min) may not.
    second = scheduler.start_now(0.0)
    assert [(p.job.key, p.gpus, p.end) for p in second] == [("S", (2,), 25.0)]
    scheduler.finish("X")
    scheduler.finish("S")
    assert scheduler.start_now(25.0) == []  # 3 GPUs free, H still waits for Y; L would delay it
    scheduler.finish("Y")
    assert [(p.job.key, p.gpus) for p in scheduler.start_now(30.0)] == [("H", (0, 1, 2, 3))]


def test_a_multi_gpu_deployment_gets_an_aligned_block() -> None:
    scheduler = Scheduler([Job("one", 1, 10.0), Job("pair", 2, 10.0)], 4)
    assert [p.gpus for p in scheduler.start_now(0.0, hold=lambda job: job.key == "pair")] == [(0,)]
    assert [p.gpus for p in scheduler.start_now(0.0)] == [(2, 3)]  # not 1-2, which spans two pairs


def test_a_deployment_larger_than_the_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="big need more than the 2 GPU"):
        Scheduler([Job("big", 4, 1.0)], 2)


def test_the_estimate_scales_with_the_weights_and_the_gpus() -> None:
    assert estimate_minutes([150, 150], 16.4, 1) == pytest.approx(3.0 + 3.0)
    assert estimate_minutes([300, None], 32.8, 2) == pytest.approx(3.0 + 4.5)  # a whole split counts as 150


SWEEP = build_plan(CONFIG, models=CONFIG.sweep.models, presets=CONFIG.sweep.presets,
                   datasets=list(CONFIG.sweep.datasets), samples=None, engine="tgi", image=None,
                   routes=CONFIG.sweep.engine.models)  # fmt: skip

# (GPUs, GB) → (deployments scheduled, of which on 2 GPUs, waves, wall minutes, one-at-a-time minutes), for
# the default sweep as each engine serves it (Qwen v1 routed to vLLM; Qwen3 on TGI's fallback in 16 bits)
PINNED = {
    (1, 24): (8, 0, 8, 156.5, 156.5),
    (1, 48): (18, 0, 18, 497.1, 497.1),
    (1, 80): (18, 0, 18, 497.1, 497.1),
    (2, 24): (18, 10, 15, 263.8, 341.8),
    (2, 48): (18, 0, 16, 254.4, 497.1),
    (2, 80): (18, 0, 16, 254.4, 497.1),
    (4, 24): (18, 10, 12, 133.6, 341.8),
    (4, 48): (18, 0, 12, 132.7, 497.1),
    (4, 80): (18, 0, 12, 132.7, 497.1),
    (8, 24): (18, 10, 8, 68.0, 341.8),
    (8, 48): (18, 0, 7, 71.4, 497.1),
    (8, 80): (18, 0, 7, 71.4, 497.1),
}


@pytest.mark.parametrize(("count", "memory"), sorted(PINNED))
def test_the_default_sweeps_schedule_is_pinned_and_never_shares_a_gpu(count: int, memory: int) -> None:
    pool = virtual_pool(f"virtual:{count}x{memory}@9.0")
    assert pool is not None
    _, jobs = sweep_jobs(SWEEP.deployments, pool)
    placements = simulate(jobs, count)
    summary = (
        len(placements),
        sum(1 for p in placements if len(p.gpus) == 2),
        max(p.wave for p in placements),
        round(makespan(placements), 1),
        round(sum(j.minutes for j in jobs), 1),
    )
    assert summary == PINNED[(count, memory)]
    for p in placements:
        assert len(p.gpus) == p.job.shards
        assert p.end == p.start + p.job.minutes
        for q in placements:
            if p is not q and set(p.gpus) & set(q.gpus):
                assert p.end <= q.start or q.end <= p.start, (p, q)
    pairs = [p.start for p in placements if len(p.gpus) == 2]
    singles = [p.start for p in placements if len(p.gpus) == 1]
    if pairs and count == 2:  # on two GPUs nothing small starts before every pair has
        assert max(pairs) < min(singles)
