"""Run status and sanity flags: what the run planned, what exists, what is missing or failed and why, and
every combination whose numbers should not be trusted. It heads every report."""

from __future__ import annotations

from collections import Counter

from evalclient.report.context import ReportContext
from evalclient.report.document import Section
from evalclient.report.sanity import flags_of

FOLDER = "status"
_NOT_RUN = {
    "interrupted": "not run: the run was interrupted before it",
    "running": "not run yet: the run is still going, or died without saying so",
    "finished": "not run",
}


def section(ctx: ReportContext) -> Section:
    tree = ctx.tree
    out = Section(FOLDER, "Run status and sanity flags")
    counts = Counter(c.status for c in tree.combinations.values())
    listing = ", ".join(f"{counts[s]} {s}" for s in _STATUSES if counts[s])
    manifest = tree.manifest
    if manifest is not None:
        out.text(
            f"Run {manifest.run_id} ({manifest.engine}, started {manifest.started_at}): "
            f"{tree.run_status_text}. {len(tree.combinations)} combinations: {listing}."
        )
    else:
        out.text(f"No manifest.json: reporting the {len(tree.combinations)} metrics files found ({listing}).")
    if tree.run_status in ("interrupted", "running"):
        out.text(
            f"The run is {tree.run_status}: these reports cover the combinations that exist; "
            f"{counts['missing']} of the plan are missing (listed below). Run the same command again to "
            "finish them."
        )
    unfinished = [c for c in tree.combinations.values() if c.status != "complete"]
    if unfinished:
        why = _NOT_RUN.get(tree.run_status or "", "not run")
        out.table(
            "Combinations that are not complete",
            ("combination", "status", "why"),
            [(c.label, c.status, c.reason or (why if c.status == "missing" else "")) for c in unfinished],
            key=True,
        )
    out.table(
        "Sanity flags",
        ("flag", "combinations", "detail"),
        _flag_rows(ctx),
        key=True,
        note="Flagged combinations are shown but not ranked (a missing GPU metric only leaves memory and "
        "energy out). Limits: accuracy at or below chance; more than 5% empty, truncated or unparseable "
        "answers; more than 1% of requests failed.",
    )
    notes = [f"{c.label}: {note}" for c in tree.combinations.values() for note in c.notes]
    if notes:
        out.table("Notes on the results files", ("note",), [(n,) for n in notes])
    return out


_STATUSES = ("complete", "partial", "failed", "missing", "unreadable")


def _flag_rows(ctx: ReportContext) -> list[tuple[str, str, str]]:
    """One row per flag, the same flag with the same detail on many combinations grouped in one row."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for combo in ctx.tree.combinations.values():
        for flag in flags_of(combo):
            grouped.setdefault((flag.kind, flag.detail), []).append(combo.label)
    with_records = sum(1 for c in ctx.tree.combinations.values() if c.record is not None)
    rows = []
    for (kind, detail), labels in grouped.items():
        who = labels[0] if len(labels) == 1 else f"{len(labels)} of {with_records}: " + ", ".join(labels)
        if len(labels) == with_records and len(labels) > 1:
            who = f"all {with_records}"
        rows.append((kind, who, detail))
    return rows or [("none", "", "no combination is flagged")]
