"""The schedule: which deployment runs on which GPUs, and when.

Deployments queue biggest first (most GPUs, then the longest estimate), so the ones that need several GPUs are
placed before the small ones fill the host. Whenever GPUs free up, the head of the queue starts if enough of
them are free; otherwise a later deployment may start on the free GPUs only where it does not delay the head
(EASY backfilling: by the estimates it ends before the head could start, or it uses GPUs the head will not
need then). A deployment gets an aligned block of GPUs (0-1, 2-3, 0-3, …) where one is free: on NVLink hosts
those are the best-connected. The same scheduler drives the run (real completions) and `plan`'s estimate
(simulated ones), so the plan shows what the run will do when the estimates hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

STARTUP_MINUTES = 3.0
"""Container start, weights read from the cache, CUDA graphs: a rough figure per deployment."""
MINUTES_PER_COMBINATION = 1.5
"""The seed plan's figure (6 h for 216 combinations) for 150 samples on an 8B bf16 model."""
REFERENCE_WEIGHTS_GB = 16.4
"""An 8B model's bf16 weights: decoding is memory-bound, so time scales with the bytes read per token."""


@dataclass(frozen=True)
class Job:
    """One deployment to place: how many GPUs it needs and how long it is expected to take."""

    key: str
    shards: int
    minutes: float
    model: str = ""


@dataclass(frozen=True)
class Placement:
    """A job placed on GPUs (positions 0..capacity-1 in the pool) from `start` to `end` (minutes)."""

    job: Job
    gpus: tuple[int, ...]
    start: float
    end: float
    wave: int


def estimate_minutes(samples: Iterable[int | None], weights_gb: float, shards: int) -> float:
    """A deployment's rough wall time: start-up plus each dataset at the seed plan's pace, scaled by the
    weights read per token and divided over its GPUs (a whole split counts as 150 samples)."""
    scale = weights_gb / REFERENCE_WEIGHTS_GB / shards
    work = sum(MINUTES_PER_COMBINATION * (n or 150) / 150 for n in samples)
    return STARTUP_MINUTES + work * scale


class Scheduler:
    """Places queued jobs on free GPUs as time goes on; `start_now` and `finish` drive it."""

    def __init__(self, jobs: Iterable[Job], capacity: int) -> None:
        self.queue = sorted(jobs, key=lambda j: (-j.shards, -j.minutes, j.key))
        too_big = [j.key for j in self.queue if j.shards > capacity]
        if too_big:
            raise ValueError(f"{', '.join(too_big)} need more than the {capacity} GPU(s) of the pool")
        self.capacity = capacity
        self.free = set(range(capacity))
        self.running: dict[str, tuple[Job, tuple[int, ...], float]] = {}

    @property
    def pending(self) -> bool:
        return bool(self.queue)

    def start_now(
        self,
        now: float,
        hold: Callable[[Job], bool] = lambda job: False,
        on_start: Callable[[Job], None] = lambda job: None,
    ) -> list[Placement]:
        """Every job that can start at `now` (minutes), placed; `hold` keeps a job queued for now (its model
        is being downloaded by another deployment); `on_start` hears of each placement before the next is
        chosen."""
        started: list[Placement] = []
        while (job := self._next(now, hold)) is not None:
            gpus = self._allocate(job.shards)
            self.queue.remove(job)
            self.running[job.key] = (job, gpus, now + job.minutes)
            started.append(Placement(job, gpus, now, now + job.minutes, 0))
            on_start(job)
        return started

    def finish(self, key: str) -> tuple[int, ...]:
        """The job ended (done or failed): its GPUs are free again."""
        _, gpus, _ = self.running.pop(key)
        self.free.update(gpus)
        return gpus

    def _next(self, now: float, hold: Callable[[Job], bool]) -> Job | None:
        candidates = [job for job in self.queue if not hold(job)]
        if not candidates:
            return None
        head = candidates[0]
        if head.shards <= len(self.free):
            return head
        shadow, spare = self._shadow(head.shards, now)
        for job in candidates[1:]:
            if job.shards <= len(self.free) and (now + job.minutes <= shadow or job.shards <= spare):
                return job
        return None

    def _shadow(self, shards: int, now: float) -> tuple[float, int]:
        """When `shards` GPUs will be free by the estimates, and how many beyond those will be free then."""
        free, at = len(self.free), now
        for _, gpus, end in sorted(self.running.values(), key=lambda r: r[2]):
            if free >= shards:
                break
            free, at = free + len(gpus), max(end, now)
        return at, free - shards

    def _allocate(self, shards: int) -> tuple[int, ...]:
        for start in range(0, self.capacity - shards + 1, shards):
            block = tuple(range(start, start + shards))
            if self.free.issuperset(block):
                break
        else:
            block = tuple(sorted(self.free)[:shards])
        self.free.difference_update(block)
        return block


def simulate(jobs: Iterable[Job], capacity: int) -> list[Placement]:
    """The whole schedule with every job taking its estimate: placements in start order, waves numbered
    by start time (wave 1 starts at once)."""
    scheduler = Scheduler(jobs, capacity)
    placed: list[Placement] = []
    now = 0.0
    while True:
        placed.extend(scheduler.start_now(now))
        if not scheduler.running:
            break
        now = min(end for _, _, end in scheduler.running.values())
        for key in [k for k, (_, _, end) in scheduler.running.items() if end <= now]:
            scheduler.finish(key)
    starts = sorted({p.start for p in placed})
    return [
        Placement(p.job, p.gpus, p.start, p.end, starts.index(p.start) + 1)
        for p in sorted(placed, key=lambda p: (p.start, p.gpus))
    ]


def makespan(placements: Iterable[Placement]) -> float:
    """Minutes from the first start to the last end."""
    return max((p.end for p in placements), default=0.0)
