"""Checks made before engine containers start: a GPU, Docker's NVIDIA runtime or CDI, the image's CUDA."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from evalclient.engines.pins import CudaVersion, alternatives, cuda_text, parse_cuda, pin_for
from evalclient.errors import GPUUnavailableError
from evalclient.monitor.nvml import GpuProbe

log = logging.getLogger(__name__)
_DEMO = "run `make demo` to try the suite with the simulator"
_REQUIRE_CUDA = re.compile(r"cuda>=(\d+\.\d+)")
TOOLKIT_FIX = (
    "install nvidia-container-toolkit and run `sudo nvidia-ctk runtime configure --runtime=docker` "
    "(or generate its CDI spec: `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`), then restart "
    "Docker"
)


def nvidia_access(info: Mapping[str, Any]) -> str | None:
    """How the Docker engine gives containers NVIDIA GPUs (its `docker info`), None when it cannot."""
    if "nvidia" in (info.get("Runtimes") or {}):
        return "the nvidia runtime"
    devices = [str(d.get("ID", "")) for d in info.get("DiscoveredDevices") or () if isinstance(d, dict)]
    cdi = [d for d in devices if d.startswith("nvidia.com/gpu")]
    return f"CDI ({', '.join(cdi)})" if cdi else None


def require_gpu_host() -> tuple[int, ...]:
    """The GPU indices to use, or GPUUnavailableError naming what is missing."""
    from evalclient.deploy.docker_engine import DockerEngine
    from evalclient.monitor import probe_gpus

    probe = probe_gpus()
    if probe.count == 0:
        raise GPUUnavailableError(
            f"no NVIDIA GPU found ({probe.reason})", f"`make eval-all` needs a GPU host; {_DEMO}"
        )
    info = DockerEngine().client.info()
    if nvidia_access(info) is None:
        runtimes = ", ".join(sorted(info.get("Runtimes") or {})) or "none"
        raise GPUUnavailableError(
            f"Docker has no NVIDIA runtime and no CDI GPU devices (runtimes: {runtimes})",
            f"{TOOLKIT_FIX}; {_DEMO}",
        )
    return tuple(range(probe.count))


def image_cuda(image: str, env: Mapping[str, str] | None) -> tuple[CudaVersion, str] | None:
    """(CUDA version the image needs, where that was read): the pin table, else the image's own
    NVIDIA_REQUIRE_CUDA or CUDA_VERSION (NVIDIA's base images set both); None when unknown."""
    pin = pin_for(image)
    if pin is not None:
        return pin.cuda, "pinned"
    env = env or {}
    required = _REQUIRE_CUDA.search(env.get("NVIDIA_REQUIRE_CUDA", ""))
    version = parse_cuda(required.group(1)) if required else parse_cuda(env.get("CUDA_VERSION", ""))
    return (version, "image environment") if version else None


def cuda_problem(image: str, engine: str, needed: CudaVersion, probe: GpuProbe) -> GPUUnavailableError | None:
    """The error for an image that needs a newer CUDA than the host's driver supports; None when it fits
    (or when there is no driver to compare with)."""
    driver_cuda = probe.cuda_driver_version
    if driver_cuda is None or needed <= driver_cuda:
        return None
    pin = pin_for(image)
    driver_note = f" (NVIDIA driver {pin.min_driver} or newer)" if pin else ""
    others = [p for p in alternatives(engine, driver_cuda) if p.image != image]
    swap = f", or pass --image {others[0].image} (CUDA {others[0].cuda_text})" if others else ""
    return GPUUnavailableError(
        f"image {image} needs CUDA {cuda_text(needed)}{driver_note} but the host's NVIDIA driver "
        f"{probe.driver_version or '?'} supports CUDA {cuda_text(driver_cuda)}",
        f"update the NVIDIA driver{swap}",
    )


def require_image_cuda(image: str, engine: str, probe: GpuProbe, env: Mapping[str, str] | None) -> None:
    """Stop before starting `image` when the host's driver is too old for it."""
    found = image_cuda(image, env)
    if found is None:
        log.info("the CUDA version %s needs is unknown (not pinned, not pulled yet); not checked", image)
        return
    problem = cuda_problem(image, engine, found[0], probe)
    if problem is not None:
        raise problem
