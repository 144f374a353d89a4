"""The combination record: one typed file per model × preset × dataset, written by the runner and read back
by the summary, the reports and resume. An unreadable or foreign file is an error naming it, never skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from evalclient.errors import ResultsError

SCHEMA_VERSION = 2
Status = Literal["complete", "partial", "failed"]


class SampleError(BaseModel):
    """A sample whose requests failed: its id and the typed error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: str
    message: str


class CombinationRecord(BaseModel):
    """metrics/detailed/<model>_<preset>_<dataset>.json."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[2] = 2
    run_id: str
    model: str
    model_id: str
    """The model the server said it served (the hub id asked for where the server agrees or does not say)."""
    model_revision: str | None = None
    """The commit the model's revision resolved to (the server's, else the hub client's), else its name."""
    preset: str
    dataset: str
    engine: str
    status: Status
    timestamp: str
    fingerprint: str
    num_samples: int
    samples_requested: int | None = None
    """The sample count asked for, recorded where the dataset had fewer rows (num_samples is what ran)."""
    num_errors: int
    reused_samples: int = 0
    """Samples answered in an earlier, interrupted run and taken from the checkpoint (not timed here)."""
    errors: list[SampleError] = []
    reason: str | None = None
    """Why the combination is partial or failed, in one line."""
    dataset_metrics: dict[str, Any] = {}
    performance_metrics: dict[str, float | int | None] = {}
    performance_unavailable: dict[str, str] = {}
    request_parameters: dict[str, Any] = {}
    """What every request sent (kinds and sampling), since servers fill gaps with their own defaults."""
    provenance: dict[str, Any] = {}
    predictions_file: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.model, self.preset, self.dataset


def load_record(path: Path) -> CombinationRecord:
    """The record in `path`; ResultsError naming the file when it cannot be read as one."""
    hint = "delete it to re-run that combination, or pass --output with another folder"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"cannot read metrics file {path}: {exc}", hint) from None
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"metrics file {path} is not valid JSON ({exc.msg}, line {exc.lineno})", hint
        ) from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise ResultsError(
            f"metrics file {path} has schema version {version}, this evalclient reads {SCHEMA_VERSION}", hint
        )
    try:
        return CombinationRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ResultsError(f"metrics file {path}: field '{where}': {first['msg']}", hint) from None
