"""The plan: models × presets × datasets grouped into deployments (one container per model × preset)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalclient.config import Config, ModelSpec, Preset

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
    """One dataset of a deployment and how many samples it gets."""

    name: str
    samples: int


@dataclass(frozen=True)
class DeploymentPlan:
    """One container: a model served with a preset, and the datasets it answers."""

    model: ModelSpec
    preset: Preset
    datasets: tuple[DatasetJob, ...]

    @property
    def key(self) -> str:
        return f"{self.model.key}_{self.preset.name}"

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
    def requests(self) -> int:
        return sum(job.samples for d in self.deployments for job in d.datasets)

    def estimated_minutes(self) -> float:
        return self.combinations * SEED_MINUTES_PER_COMBINATION


def samples_for(dataset: str, requested: int | None, caps: Mapping[str, int]) -> int:
    """The seed plan's rule: min(requested, the dataset's cap); the cap alone when nothing was requested."""
    cap = caps.get(dataset)
    if requested is None:
        return cap if cap is not None else DEFAULT_SAMPLES
    return min(requested, cap) if cap is not None else requested


def build_plan(
    config: Config,
    *,
    models: Sequence[str],
    presets: Sequence[str],
    datasets: Sequence[str],
    samples: int | None,
    engine: str,
    image: str | None,
) -> Plan:
    """Deployments in model-major order, each with every selected dataset."""
    jobs = tuple(DatasetJob(d, samples_for(d, samples, config.sweep.datasets)) for d in datasets)
    deployments = tuple(
        DeploymentPlan(config.model(m), config.preset(p), jobs) for m in models for p in presets
    )
    return Plan(engine=engine, image=image, deployments=deployments)
