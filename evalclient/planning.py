"""The plan: models × presets × datasets grouped into deployments (one container per model × preset)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from evalclient.config import Config, ModelSpec, Preset
from evalclient.errors import UsageError

if TYPE_CHECKING:
    from evalclient.tasks.base import TaskSpec

DEFAULT_SAMPLES = 150
SEED_MINUTES_PER_COMBINATION = 1.5  # the seed plan's own estimate (6 h for 216 combinations)
_BYTES_PER_PARAM = {
    None: 2.0,
    "fp8": 1.0,
    "eetq": 1.0,
    "awq": 0.5,
    "gptq": 0.5,
    "marlin": 0.5,
    "bitsandbytes": 1.0,
    "bitsandbytes-nf4": 0.5,
}


@dataclass(frozen=True)
class DatasetJob:
    """One dataset of a deployment: how many samples it gets (None: the whole split) and, once the plan is
    built for an engine, the task as it will run there (mode, shots, config)."""

    name: str
    samples: int | None
    note: str | None = None
    """Why the count is not the sweep's cap (an explicit --samples above it), for the plan and the log."""
    task: TaskSpec | None = None

    @property
    def label(self) -> str:
        return "all" if self.samples is None else str(self.samples)

    @property
    def spec(self) -> TaskSpec:
        """The configured task (built with the plan)."""
        if self.task is None:
            raise RuntimeError(f"{self.name}: the job was not configured for an engine")
        return self.task

    @property
    def title(self) -> str:
        """The dataset with its options, as the plan shows it: `mmlu (loglikelihood, 5-shot)`."""
        task = self.task
        if task is None:
            return self.name
        extras = [task.mode or "", f"{task.num_fewshot}-shot" if task.num_fewshot else ""]
        if task.source.config and task.name == "codet5":
            extras.append(task.source.config)
        shown = ", ".join(e for e in extras if e)
        return f"{self.name} ({shown})" if shown else self.name


@dataclass(frozen=True)
class DeploymentPlan:
    """One container: a model served with a preset, and the datasets it answers."""

    model: ModelSpec
    preset: Preset
    datasets: tuple[DatasetJob, ...]

    @property
    def key(self) -> str:
        return f"{self.model.key}_{self.preset.name}"

    def job(self, name: str) -> DatasetJob:
        return next(job for job in self.datasets if job.name == name)

    def weights_gb(self, quantize: str | None) -> float:
        """Approximate weight memory (GB) at the precision served (the engine's, where it substituted)."""
        return self.model.params_b * _BYTES_PER_PARAM.get(quantize, 2.0)


@dataclass(frozen=True)
class Plan:
    """Everything one run will do, in order."""

    engine: str
    image: str | None
    deployments: tuple[DeploymentPlan, ...]

    @property
    def combinations(self) -> int:
        return sum(len(d.datasets) for d in self.deployments)

    @property
    def requests(self) -> int | None:
        """Samples to ask in all, None when a dataset runs its whole split (size known once loaded)."""
        counts = [job.samples for d in self.deployments for job in d.datasets]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

    def notes(self) -> list[str]:
        """The sample-count notes of the plan, once per dataset."""
        seen: dict[str, str] = {}
        for deployment in self.deployments:
            for job in deployment.datasets:
                if job.note:
                    seen.setdefault(job.name, job.note)
        return list(seen.values())

    def estimated_minutes(self) -> float:
        return self.combinations * SEED_MINUTES_PER_COMBINATION


def samples_for(dataset: str, requested: int | str | None, caps: Mapping[str, int]) -> DatasetJob:
    """The dataset's cap from presets/sweep.yaml when nothing was requested; an explicit count as asked,
    noted when above the cap; "all" for the whole split. A dataset the sweep does not cap gets 150."""
    cap = caps.get(dataset)
    if requested is None:
        if cap is None:
            note = f"{dataset}: no cap in sweep.yaml; {DEFAULT_SAMPLES} samples"
            return DatasetJob(dataset, DEFAULT_SAMPLES, note)
        return DatasetJob(dataset, cap)
    if requested == "all":
        return DatasetJob(dataset, None, f"{dataset}: the whole split (--samples all)")
    count = int(requested)
    if cap is not None and count > cap:
        return DatasetJob(dataset, count, f"{dataset}: --samples {count} is above the sweep's cap of {cap}")
    return DatasetJob(dataset, count)


def build_plan(
    config: Config,
    *,
    models: Sequence[str],
    presets: Sequence[str],
    datasets: Sequence[str],
    samples: int | str | None,
    engine: str,
    image: str | None,
    mc_mode: str = "auto",
) -> Plan:
    """Deployments in model-major order, each with every selected dataset (selectors may carry options:
    `mmlu:0shot`), each task configured for the engine."""
    from evalclient.engines import get_adapter
    from evalclient.tasks.options import configured_task, parse_selector

    kinds = get_adapter(engine).request_kinds
    jobs: list[DatasetJob] = []
    for selector in datasets:
        name, options = parse_selector(selector)
        if any(job.name == name for job in jobs):
            raise UsageError(f"{name} is selected twice", "run one variant of a dataset per results folder")
        task = configured_task(name, options, engine_kinds=kinds, mc_mode=mc_mode)
        jobs.append(replace(samples_for(name, samples, config.sweep.datasets), task=task))
    deployments = tuple(
        DeploymentPlan(config.model(m), config.preset(p), tuple(jobs)) for m in models for p in presets
    )
    return Plan(engine=engine, image=image, deployments=deployments)
