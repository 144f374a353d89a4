"""Datasets of the sweep that are registered (source, schema, ids) but not yet prompted or scored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evalclient.client.types import GenerationRequest
from evalclient.errors import EvalClientError
from evalclient.tasks.base import HubSource, Sample, ScoreResult, Task


class PlannedTask(Task):
    """A registered dataset whose rows load and sample, but whose requests and scoring are still to come."""

    implemented = False

    def __init__(
        self,
        name: str,
        family: str,
        source: HubSource,
        required_fields: tuple[str, ...],
        id_field: str | None = None,
    ) -> None:
        self.name = name
        self.family = family
        self.source = source
        self.required_fields = required_fields
        self.id_field = id_field

    def build_request(self, sample: Sample) -> GenerationRequest:
        raise self._not_implemented()

    def score(self, samples: Sequence[Sample], responses: Mapping[str, str]) -> ScoreResult:
        raise self._not_implemented()

    def _not_implemented(self) -> EvalClientError:
        from evalclient.tasks.registry import implemented_names

        done = ", ".join(implemented_names())
        return EvalClientError(f"{self.name} is registered but not implemented yet; implemented: {done}")
