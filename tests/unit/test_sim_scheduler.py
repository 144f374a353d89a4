"""The simulator's continuous-batching scheduler, run on simulated time (no wall-clock assertions)."""

from __future__ import annotations

import asyncio

import pytest

from evalclient.sim.generation import plan_generation
from evalclient.sim.scheduler import Scheduler, Sequence, SimulatedClock

LONG_ANSWER = " ".join(["word"] * 400)


def make_seq(prompt_tokens: int = 10, new_tokens: int = 100) -> Sequence:
    plan = plan_generation(LONG_ANSWER, new_tokens, [], "</s>")
    return Sequence(prompt_tokens=prompt_tokens, max_new_tokens=new_tokens, plan=plan)


def make_scheduler(clock: SimulatedClock, **overrides: float) -> Scheduler:
    settings: dict[str, float] = {
        "slots": 8,
        "max_batch_total_tokens": 1_000_000,
        "max_batch_prefill_tokens": 100_000,
        "decode_step_ms": 10.0,
        "prefill_ms_per_token": 0.0,
    }
    settings.update(overrides)
    return Scheduler(
        slots=int(settings["slots"]),
        max_batch_total_tokens=int(settings["max_batch_total_tokens"]),
        max_batch_prefill_tokens=int(settings["max_batch_prefill_tokens"]),
        decode_step_ms=settings["decode_step_ms"],
        prefill_ms_per_token=settings["prefill_ms_per_token"],
        clock=clock,
    )


async def run_until_idle(sched: Scheduler, max_steps: int = 100_000) -> list[int]:
    """Step until nothing is left; returns the batch size seen at each step."""
    sizes: list[int] = []
    for _ in range(max_steps):
        if sched.idle:
            return sizes
        await sched.step()
        sizes.append(sched.batch_size)
    raise AssertionError("scheduler did not drain")


async def test_sixteen_requests_on_eight_slots_take_two_waves_of_decode_steps() -> None:
    clock = SimulatedClock()
    sched = make_scheduler(clock)
    seqs = [make_seq() for _ in range(16)]
    for seq in seqs:
        sched.submit(seq)
    await run_until_idle(sched)
    assert sched.stats.decode_steps == 200
    assert clock.now() == pytest.approx(2.0)
    assert sched.stats.generated_tokens == 1600
    assert all(seq.done and len(seq.token_times) == 100 for seq in seqs)
    first_wave = [seq.finished_at for seq in seqs[:8]]
    second_wave = [seq.finished_at for seq in seqs[8:]]
    assert first_wave == [pytest.approx(1.0)] * 8
    assert second_wave == [pytest.approx(2.0)] * 8
    assert 1600 / clock.now() == pytest.approx(8 * 1000 / 10.0)


async def test_prefill_costs_time_per_admitted_prompt_token() -> None:
    clock = SimulatedClock()
    sched = make_scheduler(clock, prefill_ms_per_token=1.0, slots=4)
    for _ in range(4):
        sched.submit(make_seq(prompt_tokens=250, new_tokens=10))
    await run_until_idle(sched)
    assert sched.stats.prefill_steps == 1
    assert sched.stats.prefill_seconds == pytest.approx(1.0)
    assert clock.now() == pytest.approx(1.0 + 10 * 0.010)


async def test_token_budget_limits_the_batch_and_reports_reserved_tokens() -> None:
    clock = SimulatedClock()
    sched = make_scheduler(clock, max_batch_total_tokens=250)
    for _ in range(5):
        sched.submit(make_seq(prompt_tokens=20, new_tokens=100))
    await sched.step()
    assert sched.batch_size == 2
    assert sched.reserved_tokens == 240
    assert sched.queue_size == 3
    sizes = await run_until_idle(sched)
    assert max(sizes) == 2
    assert sched.stats.decode_steps == 300


async def test_prefill_budget_limits_admissions_per_step() -> None:
    clock = SimulatedClock()
    sched = make_scheduler(clock, max_batch_prefill_tokens=100)
    for _ in range(3):
        sched.submit(make_seq(prompt_tokens=60, new_tokens=5))
    await sched.step()
    assert sched.batch_size == 1
    await sched.step()
    assert sched.batch_size == 2


async def test_reservation_caps_new_tokens_like_tgi() -> None:
    seq = make_seq(prompt_tokens=10, new_tokens=100)
    assert seq.reservation == 110
    big = Sequence(prompt_tokens=10, max_new_tokens=5000, plan=seq.plan)
    assert big.reservation == 10 + 1024


async def test_admission_is_first_come_first_served() -> None:
    clock = SimulatedClock()
    sched = make_scheduler(clock, slots=1)
    seqs = [make_seq(new_tokens=3) for _ in range(3)]
    for seq in seqs:
        sched.submit(seq)
    await run_until_idle(sched)
    finished = [seq.finished_at or 0.0 for seq in seqs]
    assert finished == sorted(finished)
    assert finished == [pytest.approx(0.03), pytest.approx(0.06), pytest.approx(0.09)]


async def test_cancelled_sequence_frees_its_slot() -> None:
    clock = SimulatedClock()
    sched = make_scheduler(clock, slots=1)
    first, second = make_seq(new_tokens=50), make_seq(new_tokens=5)
    sched.submit(first)
    sched.submit(second)
    await sched.step()
    sched.cancel(first)
    await run_until_idle(sched)
    assert not first.done
    assert second.done
    assert clock.now() == pytest.approx(0.06)


async def test_tokens_stream_to_the_consumer_in_order() -> None:
    clock = SimulatedClock()
    sched = make_scheduler(clock)
    seq = make_seq(new_tokens=7)
    sched.submit(seq)
    runner = asyncio.ensure_future(sched.run())
    try:
        received = [token.text async for token in seq.tokens()]
    finally:
        runner.cancel()
    assert "".join(received) == seq.plan.text
    assert seq.token_times == sorted(seq.token_times)
    assert seq.token_times[1] - seq.token_times[0] == pytest.approx(0.01)


def test_a_sequence_larger_than_the_budget_is_refused() -> None:
    sched = make_scheduler(SimulatedClock(), max_batch_total_tokens=50)
    with pytest.raises(ValueError, match="never fit"):
        sched.submit(make_seq(prompt_tokens=10, new_tokens=100))


class LateClock(SimulatedClock):
    """Wakes every sleeper 1 ms late, like a busy event loop."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + 0.001)


async def test_wake_up_latency_does_not_pile_up_over_steps() -> None:
    clock = LateClock()
    sched = make_scheduler(clock)
    for _ in range(8):
        sched.submit(make_seq(new_tokens=100))
    await run_until_idle(sched)
    assert sched.stats.decode_steps == 100
    assert clock.now() == pytest.approx(1.0, abs=0.0015)
