"""The report's task families: each task declares its own (`ReportSpec.family`)."""

from __future__ import annotations

from evalclient.report.headline import declared
from evalclient.tasks.report_spec import REPORT_FAMILIES as REPORT_FAMILIES


def family_of(dataset: str) -> str:
    """The report family of a dataset; "other" for a dataset the registry does not know."""
    spec = declared(dataset)
    return "other" if spec is None else spec.family
