"""Offline image builds on the Docker engine: the debootstrap base image, and images built from a file map
with no network and no registry, tagged by a hash of their sources so an unchanged tree is reused at once.

Used by the simulator image (evalclient/host/sim_image.py) and the suite's own image
(evalclient/host/suite_image.py).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from evalclient.errors import DockerUnavailableError, EnvironmentProblem

BASE_IMAGE = "evalclient-base:bookworm"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # .../evalclient
REPO_ROOT = PACKAGE_ROOT.parent
BASE_RECIPE = REPO_ROOT / "compose" / "sim" / "make-base.sh"
_SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def ensure_base_image(client: Any) -> None:
    """Create evalclient-base:bookworm with make-base.sh when the engine lacks it."""
    if image_exists(client, BASE_IMAGE):
        return
    if not BASE_RECIPE.is_file():
        raise EnvironmentProblem(
            f"the base image {BASE_IMAGE} is missing and {BASE_RECIPE} is not there to build it",
            "run compose/sim/make-base.sh from a source checkout of evalclient",
        )
    result = subprocess.run(["sh", str(BASE_RECIPE)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise EnvironmentProblem(
            f"building the base image {BASE_IMAGE} failed: {lines[-1] if lines else 'no output'}",
            f"fix that and run `sh {BASE_RECIPE}` again",
        )


def tree_files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """(prefix/relative path, file) for the files under `root`, caches and bytecode left out."""
    for path in root.rglob("*"):
        rel_parts = path.relative_to(root).parts
        if path.is_file() and not _SKIPPED_PARTS.intersection(rel_parts) and path.suffix != ".pyc":
            yield f"{prefix}/" + "/".join(rel_parts), path


def files_hash(files: Mapping[str, Path]) -> str:
    """12 hex digits of SHA-256 over the context's relative paths and contents, in path order."""
    digest = hashlib.sha256()
    for rel, path in sorted(files.items()):
        digest.update(rel.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def build(client: Any, tag: str, files: Mapping[str, Path], *, hint: str) -> None:
    """Build `tag` from a context holding `files` (its Dockerfile at "Dockerfile"), without network."""
    docker_errors = _docker_errors()
    with tempfile.TemporaryDirectory(prefix="evalclient-ctx-") as ctx:
        for rel, path in files.items():
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
            raise EnvironmentProblem(f"building {tag} failed: {_last_log_line(exc.build_log)}", hint) from exc
        except docker_errors.APIError as exc:
            raise EnvironmentProblem(
                f"the Docker engine refused to build {tag}: {exc.explanation or exc}",
                "check `docker info` and free disk space",
            ) from exc


def tag_latest(client: Any, tag: str) -> None:
    repository, _, _ = tag.partition(":")
    client.images.get(tag).tag(repository, "latest")


def image_exists(client: Any, name: str) -> bool:
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


def build_command(module: str, doc: str | None, ensure: Callable[..., str], argv: list[str] | None) -> int:
    """`python3 -m <module> [--rebuild]`: build when needed, print the tag; errors: one line, exit 2."""
    parser = argparse.ArgumentParser(prog=f"python3 -m {module}", description=doc)
    parser.add_argument("--rebuild", action="store_true", help="build even when the hashed tag exists")
    args = parser.parse_args(argv)
    try:
        print(ensure(rebuild=args.rebuild))
    except EnvironmentProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _last_log_line(build_log: Any) -> str:
    lines = [str(e.get("error") or e.get("stream") or "").strip() for e in build_log if isinstance(e, dict)]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no build output"


def _docker_errors() -> Any:
    import docker.errors

    return docker.errors
