"""What a run is told (RunOptions) and what becomes of each combination (Outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalclient.planning.slots import GpuPool


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan; from the CLI and sweep.yaml."""

    output: Path
    endpoint: str | None = None
    gpus: tuple[int, ...] = ()
    data_dir: Path | None = None
    data_files: dict[str, Path] = field(default_factory=dict)
    seed: int = 1234
    concurrency: int | None = None
    """Requests in flight per server; None: what the server takes at once (its /info, else the preset)."""
    request_timeout_s: float = 600
    max_retries: int = 5
    retry_wait_s: float = 0.5
    ready_timeout_s: float = 1800
    resume: bool = True
    local_simulator: bool = False
    memory_limit: str | None = None
    repeat_subset: int = 0
    """Samples of each dataset asked again at another concurrency: the noise floor (sweep/repeats.py)."""
    model_cache: Path | None = None
    """The host's Hugging Face cache, mounted into every engine container; None mounts nothing (simulator)."""
    virtual_gpus: GpuPool | None = None
    """Stand-in GPUs (`--gpus virtual:…`): real slots and schedule, no device in the containers."""
    backend: str = "local"
    """Where deployments run: `local` (this host's GPUs) or `ray` (the nodes of a Ray cluster)."""
    ray_address: str | None = None
    """The Ray cluster to join (--ray-address); None: the cluster this host belongs to."""


@dataclass
class Outcome:
    """What became of one combination."""

    model: str
    preset: str
    dataset: str
    status: str  # complete | partial | failed | skipped (complete from an earlier run)
    error: str | None = None
    metrics_file: str | None = None
