"""The task interface: how a dataset's rows become requests and how answers are scored."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalclient.client.types import GenerationRequest


@dataclass(frozen=True)
class HubSource:
    """Where a dataset lives on the Hugging Face hub, pinned to a revision."""

    path: str
    config: str | None
    split: str
    revision: str
    data_files: str | None = None
    """A file inside the hub repo to load instead of its default configs (e.g. one BFCL category)."""


@dataclass(frozen=True)
class Sample:
    """One dataset row in the hub schema, with the id DESIGN.md §3 defines."""

    id: str
    row: Mapping[str, Any]


@dataclass
class ScoreResult:
    """dataset_metrics for a combination plus a per-sample verdict stored beside each prediction."""

    metrics: dict[str, Any]
    per_sample: dict[str, dict[str, Any]] = field(default_factory=dict)


class Task(ABC):
    """One benchmark: its source, its family, how to prompt and how to score."""

    name: str
    family: str
    source: HubSource
    id_field: str | None = None
    implemented: bool = True
    required_fields: tuple[str, ...] = ()
    """Fields every row (hub or --data-file) must have; checked when the rows are loaded."""

    def sample_id(self, row: Mapping[str, Any], index: int) -> str:
        """The dataset's own id where it has one, else the 0-based row index as a string."""
        if self.id_field is not None and self.id_field in row:
            return str(row[self.id_field])
        return str(index)

    @abstractmethod
    def build_request(self, sample: Sample) -> GenerationRequest:
        """The chat request that asks the model this sample."""

    @abstractmethod
    def score(self, samples: Sequence[Sample], responses: Mapping[str, str]) -> ScoreResult:
        """Score answers (keyed by sample id) the way the benchmark's reference scorer does."""
