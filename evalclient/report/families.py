"""The report's task families, from the registry's `family` of each task: the one place that maps them."""

from __future__ import annotations

from evalclient.errors import UsageError

# registry family → the family the reports compare models on
REPORT_FAMILY: dict[str, str] = {
    "reasoning": "reasoning",
    "qa": "knowledge",
    "coding": "code",
    "summarization": "code",  # codet5 summarises code: scored with the code tasks
    "function_calling": "function calling",
    "instruction_following": "conversation",
}
REPORT_FAMILIES: tuple[str, ...] = ("reasoning", "knowledge", "code", "function calling", "conversation")


def family_of(dataset: str) -> str:
    """The report family of a dataset; "other" for a dataset the registry does not know."""
    from evalclient.tasks import get_task

    try:
        return REPORT_FAMILY.get(get_task(dataset).family, "other")
    except UsageError:
        return "other"
