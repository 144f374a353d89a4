"""A deployment's samples, loaded by the driver and shipped to the node that runs it.

Nodes need neither the datasets nor the hub: the driver draws each dataset's samples (the same ids for the
same seed as a local run) and fingerprints its source; the node reads them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evalclient.errors import EvalClientError
from evalclient.planning.plan import DeploymentPlan
from evalclient.tasks.base import Sample, TaskSpec

if TYPE_CHECKING:
    from evalclient.sweep.deployment_run import SampleSource


@dataclass(frozen=True)
class LoadedSamples:
    """Each dataset's samples (or why they could not be loaded) and its source's fingerprint, by task name."""

    samples: dict[str, list[Sample] | EvalClientError] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, datasets: SampleSource, deployment: DeploymentPlan) -> LoadedSamples:
        """Load every dataset of the deployment (blocking); a failure is kept for the node to record."""
        loaded = cls()
        for job in deployment.datasets:
            spec = job.spec
            try:
                loaded.samples[spec.name] = datasets.get_evaluation_samples(spec, job.samples)
                loaded.fingerprints[spec.name] = datasets.dataset_fingerprint(spec)
            except EvalClientError as exc:
                loaded.samples[spec.name] = exc
        return loaded

    def get_evaluation_samples(self, ref: TaskSpec, n: int | None) -> list[Sample]:
        found = self.samples[ref.name]
        if isinstance(found, EvalClientError):
            raise found
        return found

    def dataset_fingerprint(self, ref: TaskSpec) -> str:
        return self.fingerprints[ref.name]
