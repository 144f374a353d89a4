"""`evalclient doctor`: is this host ready for a GPU sweep? Each check says what it found and, when something
is missing, how to fix it. What the host has is gathered once (`gather`); the checks are pure functions of it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from evalclient.deploy.model_cache import cached_gb, has_token, model_cache_path
from evalclient.engines import get_adapter
from evalclient.engines.pins import PINS, cuda_text, pin_for
from evalclient.errors import EvalClientError
from evalclient.host.preflight import TOOLKIT_FIX, cuda_problem, image_cuda, nvidia_access
from evalclient.monitor.nvml import GpuProbe
from evalclient.planning.hardware import deployment_fit, gpus_of
from evalclient.planning.plan import Plan

CHECKPOINT_BYTES_PER_PARAM = 2.0
"""The models are published in bf16; on-the-fly quantization (fp8) still downloads and reads those weights."""
DRIVER_FIX = (
    "install the NVIDIA driver (nvidia-smi must list the GPUs); without a GPU, `make demo` runs the simulator"
)


@dataclass(frozen=True)
class Check:
    """One line of the report: ok True/False, or None for information that is not a requirement."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


@dataclass
class HostFacts:
    """What the checks look at, gathered once from Docker, NVML and the disk."""

    probe: GpuProbe
    docker_info: dict[str, Any] | None = None
    docker_error: EvalClientError | None = None
    image_env: dict[str, dict[str, str] | None] = field(default_factory=dict)
    """Each engine image's environment (its CUDA requirement), None for one not pulled yet."""
    cache: Path = Path("~/.cache/huggingface")
    free_gb: float = 0.0
    cached: dict[str, float] = field(default_factory=dict)
    token: bool = False
    path_problem: str | None = None
    in_container: bool = False


def gather(plan: Plan, cache_option: Path | None) -> HostFacts:
    """Ask Docker, NVML and the filesystem (blocking)."""
    from evalclient.deploy.docker_engine import DockerEngine, connect
    from evalclient.deploy.host_paths import own_container_id, require_same_paths
    from evalclient.monitor import probe_gpus

    cache = model_cache_path(cache_option)
    facts = HostFacts(probe=probe_gpus(), cache=cache, token=has_token(cache))
    facts.free_gb = shutil.disk_usage(_existing(cache)).free / 1e9
    facts.cached = cached_gb(cache, dict.fromkeys(d.model.hub_id for d in plan.deployments))
    try:
        client = connect()
        facts.docker_info = dict(client.info())
        engine = DockerEngine(client)
        facts.image_env = {image: engine.image_env(image) for image in _images(plan)}
        facts.in_container = own_container_id() is not None
        require_same_paths(client, {"model cache": cache})
    except EvalClientError as exc:
        if facts.docker_info is None:
            facts.docker_error = exc
        else:
            facts.path_problem = str(exc)
    return facts


def run_checks(plan: Plan, facts: HostFacts) -> list[Check]:
    """Every check, in the order a GPU host is set up."""
    checks = [_docker(facts), _runtime(facts), _gpus(facts), _driver(facts)]
    checks += [_image_cuda(engine, image, facts) for engine, image in _engine_images(plan)]
    checks += _other_pins(plan, facts)
    checks += [_disk(plan, facts), _token(plan, facts), *_fit(plan, facts)]
    if facts.in_container:
        checks.append(Check("same paths as the host", facts.path_problem is None, facts.path_problem or "ok"))
    return checks


def render(checks: list[Check], console: Console) -> int:
    """Print the report; the number of failed checks."""
    failed = 0
    for check in checks:
        mark = {True: "[green]✓[/green]", False: "[red]✗[/red]", None: "[dim]·[/dim]"}[check.ok]
        console.print(f"{mark} {check.name}: {escape(check.detail)}", soft_wrap=True, highlight=False)
        if check.ok is False:
            failed += 1
            console.print(f"    fix: {escape(check.fix)}", soft_wrap=True, highlight=False)
    total = sum(1 for c in checks if c.ok is not None)
    console.print(f"{failed} of {total} checks failed" if failed else f"all {total} checks passed")
    return failed


def _docker(facts: HostFacts) -> Check:
    if facts.docker_info is None:
        error = facts.docker_error
        message, hint = (error.message, error.hint or "") if error else ("not reached", "")
        return Check("Docker engine", False, message, hint)
    version = facts.docker_info.get("ServerVersion", "?")
    return Check("Docker engine", True, f"Docker {version} answers")


def _runtime(facts: HostFacts) -> Check:
    if facts.docker_info is None:
        return Check("NVIDIA container runtime", False, "cannot tell without a Docker engine", TOOLKIT_FIX)
    access = nvidia_access(facts.docker_info)
    if access:
        return Check("NVIDIA container runtime", True, f"Docker gives containers GPUs through {access}")
    runtimes = ", ".join(sorted(facts.docker_info.get("Runtimes") or {})) or "none"
    return Check(
        "NVIDIA container runtime",
        False,
        f"Docker has no nvidia runtime and no CDI GPU devices (runtimes: {runtimes})",
        TOOLKIT_FIX,
    )


def _gpus(facts: HostFacts) -> Check:
    probe = facts.probe
    if not probe.count:
        return Check("GPUs", False, f"no NVIDIA GPU visible ({probe.reason})", DRIVER_FIX)
    described = []
    for gpu in gpus_of(probe):
        memory = f"{gpu.memory_gb:.0f} GB" if gpu.memory_gb else "? GB"
        cc = f", compute capability {gpu.capability[0]}.{gpu.capability[1]}" if gpu.capability else ""
        described.append(f"{gpu.label}: {memory}{cc}")
    return Check("GPUs", True, "; ".join(described))


def _driver(facts: HostFacts) -> Check:
    probe = facts.probe
    if probe.driver_version is None or probe.cuda_driver_version is None:
        return Check("NVIDIA driver", False, "no NVIDIA driver answers through NVML", DRIVER_FIX)
    cuda = cuda_text(probe.cuda_driver_version)
    return Check("NVIDIA driver", True, f"driver {probe.driver_version}, supports CUDA up to {cuda}")


def _image_cuda(engine: str, image: str, facts: HostFacts) -> Check:
    name = f"{engine} image CUDA"
    found = image_cuda(image, facts.image_env.get(image))
    if found is None:
        return Check(name, None, f"{image}: CUDA requirement unknown until the image is pulled")
    needed, source = found
    if facts.probe.cuda_driver_version is None:
        pin = pin_for(image)
        driver = f" ({pin.min_driver} or newer)" if pin else ""
        fix = f"install an NVIDIA driver that supports CUDA {cuda_text(needed)}{driver}"
        return Check(
            name, False, f"{image} needs CUDA {cuda_text(needed)} ({source}); no driver to run it", fix
        )
    problem = cuda_problem(image, engine, needed, facts.probe)
    if problem is not None:
        return Check(name, False, problem.message, problem.hint or "")
    return Check(name, True, f"{image} needs CUDA {cuda_text(needed)}; the driver supports it")


def _other_pins(plan: Plan, facts: HostFacts) -> list[Check]:
    """What the driver can run of the other pinned images, for comparisons across engines."""
    driver = facts.probe.cuda_driver_version
    lines = []
    for pin in PINS:
        if pin.image in _images(plan):
            continue
        verdict = "" if driver is None else (" runs here" if pin.cuda <= driver else " needs a newer driver")
        lines.append(f"{pin.image} (CUDA {pin.cuda_text}, driver {pin.min_driver}+){verdict}")
    return [Check("other pinned images", None, "; ".join(lines))]


def _disk(plan: Plan, facts: HostFacts) -> Check:
    models = {d.model.hub_id: d.model.params_b * CHECKPOINT_BYTES_PER_PARAM for d in plan.deployments}
    missing = {hub: max(0.0, size - facts.cached.get(hub, 0.0)) for hub, size in models.items()}
    need = sum(missing.values())
    detail = (
        f"~{need:.0f} GB of weights still to download for {len(models)} model(s); "
        f"{facts.free_gb:.0f} GB free in the model cache {facts.cache}"
    )
    fix = "free disk space, or point --model-cache (or HF_HOME) at a disk with room"
    return Check("disk for weights", facts.free_gb >= need, detail, fix)


def _token(plan: Plan, facts: HostFacts) -> Check:
    gated = sorted({d.model.key for d in plan.deployments if d.model.gated})
    if not gated:
        return Check("Hugging Face token", True, "no gated model in the sweep; none needed")
    if facts.token:
        return Check("Hugging Face token", True, f"set, for the gated model(s) {', '.join(gated)}")
    return Check(
        "Hugging Face token",
        False,
        f"gated model(s) {', '.join(gated)} need a token and none is set",
        "accept the terms on each model's hub page, then `export HF_TOKEN=hf_...` (or `hf auth login`)",
    )


def _fit(plan: Plan, facts: HostFacts) -> list[Check]:
    gpus = gpus_of(facts.probe)
    if not gpus:
        return [Check("GPU fit", None, "not checked: no GPU")]
    checks = []
    for gpu in gpus:
        fits = [(d.key, deployment_fit(d, gpu)) for d in plan.started]
        failing = [f"{key} {fit.summary}" for key, fit in fits if not fit.runs]
        notes = sorted({note for _, fit in fits for note in fit.notes})
        if failing:
            detail = f"{len(failing)} of {len(fits)} deployments cannot run: " + " | ".join(failing)
            fix = "leave those presets or models out (--presets/--models, sweep.yaml), or use a larger GPU"
            checks.append(Check(f"GPU fit on {gpu.label}", False, detail, fix))
        else:
            checks.append(Check(f"GPU fit on {gpu.label}", True, f"all {len(fits)} deployments fit"))
        if notes:
            checks.append(Check(f"notes for {gpu.label}", None, " | ".join(notes)))
    return checks


def _engine_images(plan: Plan) -> list[tuple[str, str]]:
    """(engine, image) of the run's own image and of every image a model is routed to, once each."""
    main = (plan.engine, plan.image or get_adapter(plan.engine).default_image)
    return list(dict.fromkeys((main, *plan.images)))


def _images(plan: Plan) -> list[str]:
    return [image for _, image in _engine_images(plan)]


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
