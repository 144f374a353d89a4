"""What the code tasks (humaneval, mbpp) share: drawing n answers per problem, and scoring by execution.

A solver draws `samples_per_problem` answers (one greedy answer by default; n > 1 sampled ones, each request
with its own seed). The scorer turns every answer into a `Program` (the task's own recipe), runs them all in
the context's sandbox and reports:

- `pass@1` (the headline; for one greedy answer per problem, the share of problems solved), and the unbiased
  pass@k estimator for k = 10 and 100 where n >= k (see pass_at_k.py);
- `code_execution_success_rate`: the share of programs that ran to the end without an exception other than
  a failed test assertion (a wrong answer that runs counts as executed; a crash, a timeout, an exit before
  the tests or a program that could not be read does not);
- `execution_statuses` (programs per outcome), `num_programs`, `timeout_s` and `sandbox` (which sandbox ran
  them), with the answer-quality metrics every task reports.

A sample whose requests failed has no programs; its n count as failed and not executed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind, Sampling
from evalclient.tasks.base import ModelHandle, Sample, SampleOutput, Scorer, ScoreResult, Solver
from evalclient.tasks.context import ExecutionResult, Program, ScoreContext
from evalclient.tasks.pass_at_k import mean_pass_at_k, reported_ks
from evalclient.tasks.quality import answer_quality

KEPT_ERROR = 300

BuildProgram = Callable[[Sample, str], Program]
"""(sample, answer text) -> the program to run; the answer is exactly as sent (reasoning removed)."""


def sampling_for(base: Sampling, samples_per_problem: int, temperature: float | None) -> Sampling:
    """Greedy for one answer per problem; for several, `temperature` (0.8 unless given)."""
    if samples_per_problem < 1:
        raise ValueError(f"samples_per_problem must be at least 1, not {samples_per_problem}")
    if samples_per_problem == 1 and temperature is None:
        return base
    return replace(base, temperature=0.8 if temperature is None else temperature)


def drawing_solver(
    ask: Callable[[Sample, ModelHandle, str, Sampling], Any], sampling: Sampling, samples_per_problem: int
) -> Solver:
    """A solver that asks `samples_per_problem` times (request ids `<id>` or `<id>/<i>`, seeds seed + i)."""

    async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
        if samples_per_problem == 1:
            return [await ask(sample, model, sample.id, sampling)]
        completions = []
        for i in range(samples_per_problem):
            seed = None if sampling.seed is None else sampling.seed + i
            completions.append(await ask(sample, model, f"{sample.id}/{i}", replace(sampling, seed=seed)))
        return completions

    return solve


def answers(output: SampleOutput | None) -> list[str] | None:
    """Every answer text of the sample (reasoning removed), None when its requests failed."""
    if output is None or not output.ok:
        return None
    texts = [c.answer for c in output.completions if c.kind in (RequestKind.CHAT, RequestKind.GENERATE)]
    return texts or None


def execution_scorer(
    task: str, build: BuildProgram, samples_per_problem: int, reference_name: str | None = None
) -> Scorer:
    """The async scorer of a code task: build every program, run them in the sandbox, count.

    `reference_name` also reports pass@1 under the name the task's reference harness gives it (lm-eval's
    `mbpp`: `pass_at_1`), where this task is that harness's task exactly."""

    async def score(
        samples: Sequence[Sample], outputs: Mapping[str, SampleOutput], ctx: ScoreContext
    ) -> ScoreResult:
        sandbox = ctx.require_sandbox(task)
        drawn = {s.id: answers(outputs.get(s.id)) for s in samples}
        programs: list[Program] = []
        owners: list[str] = []
        for sample in samples:
            for text in drawn[sample.id] or ():
                programs.append(build(sample, text))
                owners.append(sample.id)
        results = await sandbox.run(programs)
        by_sample: dict[str, list[ExecutionResult]] = {s.id: [] for s in samples}
        for owner, result in zip(owners, results, strict=True):
            by_sample[owner].append(result)
        verdicts = {s.id: verdict(drawn[s.id], by_sample[s.id]) for s in samples}
        metrics = execution_metrics(verdicts, samples_per_problem)
        if reference_name is not None:
            metrics[reference_name] = metrics["pass@1"]
        metrics["timeout_s"] = sandbox.timeout_s
        metrics["sandbox"] = sandbox.name
        metrics.update(answer_quality(samples, outputs, verdicts))
        return ScoreResult(metrics=metrics, per_sample=verdicts)

    return score


def verdict(texts: list[str] | None, results: Sequence[ExecutionResult]) -> dict[str, Any]:
    """A sample's verdict: whether its first program passed, how many passed, each program's outcome."""
    return {
        "correct": bool(results) and results[0].passed,
        "parsed": None if texts is None else bool(texts[0].strip()),
        "passed": sum(r.passed for r in results),
        "programs": len(results),
        "statuses": [r.status for r in results],
        "errors": [None if r.error is None else r.error[:KEPT_ERROR] for r in results],
    }


def execution_metrics(verdicts: Mapping[str, Mapping[str, Any]], samples_per_problem: int) -> dict[str, Any]:
    """pass@k, code_execution_success_rate and the outcome counts over every sample's verdict."""
    n = samples_per_problem
    counts = [(n, min(n, int(v["passed"]))) for v in verdicts.values()]
    statuses: Counter[str] = Counter(s for v in verdicts.values() for s in v["statuses"])
    total = n * len(verdicts)
    ran = statuses["passed"] + statuses["failed"]
    metrics: dict[str, Any] = {f"pass@{k}": mean_pass_at_k(counts, k) for k in reported_ks(n)}
    metrics["code_execution_success_rate"] = ran / total if total else None
    metrics["num_programs"] = sum(int(v["programs"]) for v in verdicts.values())
    metrics["execution_statuses"] = dict(sorted(statuses.items()))
    return metrics
