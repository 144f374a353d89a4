"""`make demo`: the simulator image on the real Docker engine, or a local simulator process without one."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from evalclient.errors import EnvironmentProblem


def demo_data_dir() -> Path:
    """The packaged demo datasets (hub schema), answered by the simulator's demo rules."""
    return Path(__file__).resolve().parent.parent / "sim" / "data" / "demo"


def prepare_demo_engine(force_local: bool, console: Console) -> tuple[str | None, bool]:
    """(simulator image, use a local process instead): Docker when it answers and the image builds."""
    if force_local:
        console.print("running the simulator as a local process (--local)")
        return None, True
    from evalclient.deploy.docker_engine import connect
    from evalclient.host.sim_image import ensure_sim_image

    try:
        client = connect()
        console.print("building the simulator image (first time only)…")
        image = ensure_sim_image(client)
    except EnvironmentProblem as exc:
        console.print(
            f"[yellow]no Docker engine for the demo ({exc.message}); "
            "running the simulator as a local process instead[/yellow]",
            soft_wrap=True,
        )
        return None, True
    console.print(f"simulator image {image} on the Docker engine")
    return image, False
