"""One load probe from start to end: the server (an endpoint, or a deployment started for it), the client,
the steps, and the figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalclient.client.server import ServerClient
from evalclient.deploy.endpoint import fetch_info
from evalclient.engines.base import EngineAdapter
from evalclient.load.probe import concurrency_step, rate_step
from evalclient.load.stats import Step, step_figures
from evalclient.load.workload import Workload

OPEN_LOOP_CEILING = 4096


@dataclass(frozen=True)
class LoadSettings:
    """What to send and how: concurrencies or rates (one step each), stop conditions, warm-up, targets."""

    concurrencies: Sequence[int] = ()
    rates: Sequence[float] = ()
    requests: int = 200
    duration_s: float | None = None
    warmup: int = 10
    slo: dict[str, float] | None = None
    seed: int = 0


async def run_load(
    base_url: str,
    adapter: EngineAdapter,
    model: str,
    workload: Workload,
    settings: LoadSettings,
    default: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every step's figures, and a header describing the probe (server, workload, settings)."""
    info = await fetch_info(base_url)
    concurrencies = list(settings.concurrencies) or ([] if settings.rates else [default])
    ceiling = max([*concurrencies, OPEN_LOOP_CEILING if settings.rates else 1])
    steps: list[Step] = []
    async with ServerClient(
        base_url, protocols=adapter.protocols(), model=model, concurrency=ceiling, max_retries=0
    ) as client:
        requests = workload.requests("load-")
        for concurrency in concurrencies:
            steps.append(
                await concurrency_step(
                    client,
                    requests,
                    concurrency,
                    count=settings.requests,
                    duration_s=settings.duration_s,
                    warmup=settings.warmup,
                )
            )
        for rate in settings.rates:
            steps.append(
                await rate_step(
                    client,
                    requests,
                    rate,
                    count=settings.requests,
                    duration_s=settings.duration_s,
                    warmup=settings.warmup,
                    seed=settings.seed,
                )
            )
    rows = [step_figures(step, settings.slo or {}) for step in steps]
    header = {
        "base_url": base_url,
        "engine": adapter.kind,
        "model": model,
        "server_info": info,
        "workload": workload.description,
        "output_length": "fixed (ignore_eos)"
        if workload.ignore_eos
        else "as generated (the engine stops at EOS)",
        "requests_per_step": settings.requests,
        "duration_s_per_step": settings.duration_s,
        "warmup": settings.warmup,
        "slo": settings.slo or {},
    }
    return rows, header


def parse_slo(text: str | None) -> dict[str, float]:
    """`ttft_ms=500,itl_ms=50` → {"ttft_ms": 500.0, "itl_ms": 50.0}; UsageError for anything else."""
    from evalclient.errors import UsageError
    from evalclient.load.stats import SLO_KEYS

    targets: dict[str, float] = {}
    for part in (p.strip() for p in (text or "").split(",") if p.strip()):
        key, _, value = part.partition("=")
        try:
            if key not in SLO_KEYS:
                raise ValueError
            targets[key] = float(value)
        except ValueError:
            raise UsageError(
                f"--slo {part!r} is not a target", f"give KEY=MS with KEY one of {', '.join(SLO_KEYS)}"
            ) from None
    return targets
