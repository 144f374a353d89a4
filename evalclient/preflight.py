"""Checks made before a sweep starts anything: a GPU, and Docker's NVIDIA runtime."""

from __future__ import annotations

from evalclient.errors import GPUUnavailableError

_DEMO = "run `make demo` to try the suite with the simulator"


def require_gpu_host() -> tuple[int, ...]:
    """The GPU indices to use, or GPUUnavailableError naming what is missing."""
    from evalclient.engines.docker import DockerEngine
    from evalclient.monitor import probe_gpus

    probe = probe_gpus()
    if probe.count == 0:
        raise GPUUnavailableError(
            f"no NVIDIA GPU found ({probe.reason})", f"`make eval-all` needs a GPU host; {_DEMO}"
        )
    runtimes = DockerEngine().runtimes()
    if "nvidia" not in runtimes:
        raise GPUUnavailableError(
            f"Docker has no NVIDIA runtime (runtimes: {', '.join(sorted(runtimes)) or 'none'})",
            "install nvidia-container-toolkit and run `nvidia-ctk runtime configure --runtime=docker`; "
            + _DEMO,
        )
    return tuple(range(probe.count))
