"""Builds the simulator's Docker image offline (runs on the host; the only sim module that uses Docker).

`ensure_sim_image()` makes sure `evalclient-base:bookworm` exists (running compose/sim/make-base.sh, which
uses debootstrap, when it does not), then builds `evalclient-sim:<hash>` from a minimal build context:
compose/sim/Dockerfile, evalclient/__init__.py and evalclient/sim/. `<hash>` is 12 hex digits of a
SHA-256 over those files, so an unchanged tree is found and reused at once. `evalclient-sim:latest` is
moved to the result. `python3 -m evalclient.sim.image [--rebuild]` builds and prints the tag.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DockerUnavailableError, EnvironmentProblem

BASE_IMAGE = "evalclient-base:bookworm"
SIM_REPOSITORY = "evalclient-sim"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../evalclient
REPO_ROOT = PACKAGE_ROOT.parent
RECIPE_DIR = REPO_ROOT / "compose" / "sim"
_SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def ensure_sim_image(client: Any | None = None, *, rebuild: bool = False) -> str:
    """Build the simulator image unless an identical one exists; returns its `evalclient-sim:<hash>` tag."""
    client = client if client is not None else _docker_client()
    ensure_base_image(client)
    tag = f"{SIM_REPOSITORY}:{source_hash()}"
    if rebuild or not _image_exists(client, tag):
        _build(client, tag)
    _tag_latest(client, tag)
    return tag


def ensure_base_image(client: Any) -> None:
    """Create evalclient-base:bookworm with make-base.sh when the engine lacks it."""
    if _image_exists(client, BASE_IMAGE):
        return
    script = RECIPE_DIR / "make-base.sh"
    if not script.is_file():
        raise EnvironmentProblem(
            f"the base image {BASE_IMAGE} is missing and {script} is not there to build it",
            "run compose/sim/make-base.sh from a source checkout of evalclient",
        )
    result = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise EnvironmentProblem(
            f"building the base image {BASE_IMAGE} failed: {lines[-1] if lines else 'no output'}",
            f"fix that and run `sh {script}` again",
        )


def source_hash() -> str:
    """12 hex digits of SHA-256 over the build context's relative paths and contents."""
    digest = hashlib.sha256()
    for rel, path in _context_files():
        digest.update(rel.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _context_files() -> Iterator[tuple[str, Path]]:
    """(path inside the build context, file on disk), sorted."""
    dockerfile = RECIPE_DIR / "Dockerfile"
    if not dockerfile.is_file():
        raise EnvironmentProblem(
            f"the simulator recipe {dockerfile} is missing",
            "build the image from a source checkout of evalclient",
        )
    files = {"Dockerfile": dockerfile, "evalclient/__init__.py": PACKAGE_ROOT / "__init__.py"}
    sim_dir = PACKAGE_ROOT / "sim"
    for path in sim_dir.rglob("*"):
        rel_parts = path.relative_to(sim_dir).parts
        if path.is_file() and not _SKIPPED_PARTS.intersection(rel_parts) and path.suffix != ".pyc":
            files["evalclient/sim/" + "/".join(rel_parts)] = path
    yield from sorted(files.items())


def _build(client: Any, tag: str) -> None:
    docker_errors = _docker_errors()
    with tempfile.TemporaryDirectory(prefix="evalclient-sim-ctx-") as ctx:
        for rel, path in _context_files():
            target = Path(ctx) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        try:
            client.images.build(
                path=ctx,
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                network_mode="none",
                buildargs={"SOURCE_HASH": tag.rsplit(":", 1)[1]},
            )
        except docker_errors.BuildError as exc:
            raise EnvironmentProblem(
                f"building {tag} failed: {_last_log_line(exc.build_log)}",
                f"check that {BASE_IMAGE} is a working python3 image (rebuild it: FORCE=1 sh "
                f"{RECIPE_DIR / 'make-base.sh'})",
            ) from exc
        except docker_errors.APIError as exc:
            raise EnvironmentProblem(
                f"the Docker engine refused to build {tag}: {exc.explanation or exc}",
                "check `docker info` and free disk space",
            ) from exc


def _tag_latest(client: Any, tag: str) -> None:
    repository, _, _ = tag.partition(":")
    client.images.get(tag).tag(repository, "latest")


def _image_exists(client: Any, name: str) -> bool:
    docker_errors = _docker_errors()
    try:
        client.images.get(name)
    except docker_errors.ImageNotFound:
        return False
    except docker_errors.DockerException as exc:
        raise DockerUnavailableError(
            f"cannot query the Docker engine for {name}: {exc}",
            "start Docker (or check DOCKER_HOST) and retry",
        ) from exc
    return True


def _last_log_line(build_log: Any) -> str:
    lines = [str(e.get("error") or e.get("stream") or "").strip() for e in build_log if isinstance(e, dict)]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no build output"


def _docker_client() -> Any:
    try:
        import docker
    except ImportError as exc:
        raise EnvironmentProblem("the Docker SDK for Python is not installed", "pip install docker") from exc
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailableError(
            f"the Docker engine cannot be reached ({exc})", "start Docker (or check DOCKER_HOST) and retry"
        ) from exc
    return client


def _docker_errors() -> Any:
    import docker.errors

    return docker.errors


def main(argv: list[str] | None = None) -> int:
    """Build (when needed) and print the simulator image tag; errors print one line and exit 2."""
    parser = argparse.ArgumentParser(prog="python3 -m evalclient.sim.image", description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="build even when the hashed tag exists")
    args = parser.parse_args(argv)
    try:
        print(ensure_sim_image(rebuild=args.rebuild))
    except EnvironmentProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
