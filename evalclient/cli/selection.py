"""What to evaluate: the selector options of `run` and `plan` as one typed value, and its plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from evalclient.config import Config, resolve_names

if TYPE_CHECKING:
    from evalclient.planning.plan import Plan


@dataclass(frozen=True)
class Selection:
    """--models, --presets, --datasets (comma lists; None: the sweep's), --samples, --engine, --image
    (None: the sweep's) and --mc-mode."""

    models: str | None = None
    presets: str | None = None
    datasets: str | None = None
    samples: int | str | None = None
    engine: str | None = None
    image: str | None = None
    mc_mode: str = "auto"


def selected_names(
    config: Config, models: str | None, presets: str | None, datasets: str | None
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The model, preset and dataset names (dataset selectors keep their options), each checked."""
    from evalclient.tasks import task_names
    from evalclient.tasks.registry import variant_names

    selectors = tuple(d.strip() for d in (datasets or "").split(",") if d.strip())
    names = ",".join(s.split(":")[0] for s in selectors) if datasets is not None else None
    valid = [*task_names(), *variant_names()]
    checked = resolve_names(names, config.sweep.datasets if datasets is None else valid, "dataset")
    return (
        resolve_names(models, config.sweep.models if models is None else config.models, "model"),
        resolve_names(presets, config.sweep.presets if presets is None else config.presets, "preset"),
        selectors if datasets is not None and datasets.strip() not in ("", "all") else checked,
    )


def plan_for(config: Config, selection: Selection, *, endpoint: str | None = None) -> Plan:
    """The plan of `selection` (names checked; the sweep's image unless another engine); `endpoint`: a
    server of the user's, which, like an image of theirs, is never routed elsewhere."""
    from evalclient.planning.plan import build_plan, routes_for

    models, presets, datasets = selected_names(
        config, selection.models, selection.presets, selection.datasets
    )
    sweep_engine = config.sweep.engine
    engine = selection.engine or sweep_engine.kind
    image = selection.image or (sweep_engine.image if engine == sweep_engine.kind else None)
    chosen = selection.image or endpoint  # an image or a server of the user's: no routing
    return build_plan(
        config,
        models=models,
        presets=presets,
        datasets=datasets,
        samples=selection.samples,
        engine=engine,
        image=image,
        mc_mode=selection.mc_mode or "auto",
        routes=routes_for(config, engine, chosen),
        auto_route=not chosen,
        endpoint=endpoint,
    )
