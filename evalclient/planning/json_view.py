"""`evalclient plan --json`: the whole plan, machine-readable, for CI pipelines and other tools.

One object: the run's engine and image; per deployment its model, preset, the engine image that serves it, the
serving path, the exact launcher command, the substitutions (knobs not applied), the route and refusal, the
datasets with their modes and sample counts, the GPUs it needs and whether it fits; the schedule on the GPUs;
the totals and the estimated wall time. `PLAN_SCHEMA_VERSION` changes when a field changes meaning.
"""

from __future__ import annotations

from typing import Any

from evalclient.engines import get_adapter
from evalclient.engines.base import Ports
from evalclient.planning.plan import DeploymentPlan, Plan
from evalclient.planning.schedule import STARTUP_MINUTES, Placement, makespan, simulate
from evalclient.planning.slots import GpuPool, Sizing, sweep_jobs

PLAN_SCHEMA_VERSION = 1
SECRET_ENV = frozenset({"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN"})
"""Never written, should a spec carry one: engines get no token in their environment (a gated model's is a
file, engines/base.py LaunchSpec.token_for); HF_API_TOKEN is the name TGI's launcher hands on as HF_TOKEN."""


def plan_document(plan: Plan, pool: GpuPool) -> dict[str, Any]:
    """The plan sized and scheduled on `pool`, as one JSON-ready object."""
    sizings, jobs = sweep_jobs(plan.deployments, pool)
    placements = simulate(jobs, max(len(pool.gpus), 1))
    return {
        "schema_version": PLAN_SCHEMA_VERSION,
        "engine": plan.engine,
        "image": plan.image or get_adapter(plan.engine).default_image,
        "gpus": {
            "ids": list(pool.ids),
            "virtual": pool.virtual,
            "memory_gb": [g.memory_gb for g in pool.gpus],
            "compute_capability": [None if g.capability is None else list(g.capability) for g in pool.gpus],
        },
        "deployments": [_deployment(d, sizings.get(d.key)) for d in plan.deployments],
        "notes": plan.notes(),
        "schedule": [_placement(p, pool) for p in placements],
        "totals": {
            "combinations": plan.combinations,
            "deployments": len(plan.deployments),
            "deployments_started": len(plan.started),
            "samples": plan.requests,
            "estimated_wall_minutes": round(makespan(placements), 1),
            "estimated_sequential_minutes": round(sum(job.minutes for job in jobs), 1),
            "estimate_basis": "the seed plan's pace, scaled by the weights read per token; "
            f"{STARTUP_MINUTES:g} min start-up per deployment",
        },
    }


def _deployment(deployment: DeploymentPlan, sizing: Sizing | None) -> dict[str, Any]:
    serving = deployment.serving
    shards = 1 if sizing is None or sizing.shards is None else sizing.shards
    record: dict[str, Any] = {
        "key": deployment.key,
        "model": deployment.model.key,
        "hub_id": deployment.model.hub_id,
        "revision": deployment.model.revision,
        "architecture": deployment.model.architecture,
        "preset": deployment.preset.name,
        **serving.record(),
        "starts": serving.starts,
        "served_preset": serving.preset.model_dump(exclude={"name", "description"}),
        "weights_gb": round(deployment.weights_gb(), 1),
        "datasets": [
            {"name": job.name, "samples": job.samples, "mode": job.spec.mode, "note": job.note}
            for job in deployment.datasets
        ],
        "gpus_needed": None if sizing is None else sizing.shards,
        "fit": _fit(sizing),
        "command": None,
    }
    if serving.starts:
        spec = deployment.launch_spec(Ports(0), shards)
        record["command"] = list(spec.args)
        record["environment"] = {  # what the engine is told besides its flags; tokens are never written
            name: value for name, value in spec.environment.items() if name not in SECRET_ENV
        }
    return record


def _fit(sizing: Sizing | None) -> dict[str, Any] | None:
    if sizing is None:
        return None
    fit = sizing.fit
    return {
        "runs": sizing.runs,
        "reason": sizing.reason,
        "need_gb": None if fit is None or fit.need_gb is None else round(fit.need_gb, 1),
        "budget_gb": None if fit is None or fit.budget_gb is None else round(fit.budget_gb, 1),
        "notes": [] if fit is None else list(fit.notes),
    }


def _placement(placement: Placement, pool: GpuPool) -> dict[str, Any]:
    gpus = [pool.gpus[i].index for i in placement.gpus] if pool.gpus else []
    return {
        "deployment": placement.job.key,
        "wave": placement.wave,
        "gpus": gpus,
        "start_minute": round(placement.start, 1),
        "end_minute": round(placement.end, 1),
    }
