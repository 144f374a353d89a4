"""Run a task's solver over its samples concurrently; one sample's failure stays that sample's error.

The client's concurrency limit bounds the requests in flight, however many each solver sends. A solver that
raises (a bug, a malformed row) gives that sample an `internal` error with the message; the traceback goes to
the log. Only cancellation stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from evalclient.client.completion import ErrorKind, RequestError
from evalclient.errors import EvalClientError
from evalclient.tasks.base import ModelHandle, Sample, SampleOutput, TaskSpec

log = logging.getLogger("evalclient.tasks")


async def solve_samples(
    task: TaskSpec,
    samples: Sequence[Sample],
    model: ModelHandle,
    on_done: Callable[[SampleOutput], None] | None = None,
) -> list[SampleOutput]:
    """A SampleOutput per sample, in sample order."""
    if task.solver is None:
        raise EvalClientError(f"{task.name} has no solver yet")
    solver = task.solver
    results: list[SampleOutput | None] = [None] * len(samples)

    async def one(index: int, sample: Sample) -> None:
        try:
            output = SampleOutput(sample.id, await solver(sample, model))
        except asyncio.CancelledError:
            raise
        except EvalClientError as exc:
            output = SampleOutput(sample.id, [], RequestError(ErrorKind.INTERNAL, str(exc)))
        except Exception as exc:
            log.exception("%s sample %s: the solver failed", task.name, sample.id)
            output = SampleOutput(
                sample.id, [], RequestError(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")
            )
        results[index] = output
        if on_done is not None:
            on_done(output)

    async with asyncio.TaskGroup() as group:
        for index, sample in enumerate(samples):
            group.create_task(one(index, sample))
    return [r for r in results if r is not None]
