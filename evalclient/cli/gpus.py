"""`--gpus` values: GPU indices of this host, a virtual pool of stand-ins, or a Ray cluster's GPUs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalclient.errors import UsageError

if TYPE_CHECKING:
    from evalclient.planning.slots import GpuPool


def parse_gpus(value: str) -> tuple[int, ...]:
    """0,1 | auto (every visible GPU) | none."""
    if value == "none":
        return ()
    if value == "auto":
        from evalclient.monitor import probe_gpus

        return tuple(range(probe_gpus().count))
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(
            f"--gpus '{value}' is not a list of GPU indices", "use e.g. --gpus 0,1, or 'auto' or 'none'"
        ) from None


def gpu_choice(value: str) -> tuple[tuple[int, ...], GpuPool | None]:
    """--gpus of a sweep: real GPU indices, or a virtual pool."""
    from evalclient.planning.slots import virtual_pool

    pool = virtual_pool(value)
    return ((), pool) if pool is not None else (parse_gpus(value), None)


def ray_gpus(value: str) -> GpuPool | None:
    """--gpus with --backend ray: None for the nodes' real GPUs, a pool for stand-ins (its reference GPU
    gives their memory and compute capability)."""
    from evalclient.planning.slots import GpuPool, virtual_pool

    if value == "auto":
        return None
    if value == "virtual":
        return GpuPool(virtual=True)
    if value.startswith("virtual:"):
        return virtual_pool(value)
    raise UsageError(
        f"--gpus '{value}' with --backend ray: Ray assigns the GPUs of each node",
        "pass --gpus auto (the nodes' GPUs) or virtual[:NxGB@CC] (stand-ins: no device in the containers)",
    )
