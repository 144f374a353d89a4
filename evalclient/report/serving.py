"""How each result was served: the engine, its release, the image and the serving path, read from the
combination's provenance, and where results set side by side were served differently (so that a ranking
across them says it compares engines and serving paths as well as models)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evalclient.report.tree import Combination


def serving_of(combo: Combination) -> dict[str, Any]:
    """The `serving` provenance of a combination ({} for one without a record or written before it)."""
    record = combo.record
    if record is None:
        return {}
    serving = record.provenance.get("serving")
    return serving if isinstance(serving, dict) else {"engine": record.engine}


def served_as(combo: Combination) -> str:
    """`tgi 3.3.7 (fallback)`: the engine, release and serving path; the engine alone where unknown."""
    serving = serving_of(combo)
    if not serving:
        return "—"
    release = serving.get("engine_version")
    path = serving.get("serving_path")
    name = " ".join(str(p) for p in (serving.get("engine"), release) if p)
    return f"{name} ({path})" if path else name


def differences(combos: Iterable[Combination | None]) -> str | None:
    """A sentence when the given results were not all served by one engine release on one path."""
    groups: dict[str, list[str]] = {}
    for combo in combos:
        if combo is not None and combo.record is not None:
            groups.setdefault(served_as(combo), []).append(f"{combo.model}_{combo.preset}")
    if len(groups) < 2:
        return None
    parts = [f"{how}: {', '.join(sorted(set(labels)))}" for how, labels in sorted(groups.items())]
    return (
        "Served by different engines or serving paths, so these scores compare the engines too — "
        + "; ".join(parts)
        + "."
    )
