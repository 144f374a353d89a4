"""Builds the suite's own image offline (`evalclient:<hash>`), as the simulator image is built.

The image is evalclient-base:bookworm (Debian's python3 3.11), the project's dependencies installed from
wheels that this host prepares (`pip wheel`, cached under ~/.cache/evalclient/wheels/<hash>), and the source
tree at /opt/evalclient (the package, presets/ and the simulator recipe, so the demo inside can build the
simulator image too). Nothing inside the build reaches a network. compose/Dockerfile is the same image for a
connected host. `python3 -m evalclient.host.suite_image [--rebuild]` builds and prints the tag.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from evalclient.deploy.docker_engine import connect
from evalclient.errors import EnvironmentProblem
from evalclient.host.images import (
    PACKAGE_ROOT,
    REPO_ROOT,
    build,
    build_command,
    ensure_base_image,
    files_hash,
    image_exists,
    tag_latest,
    tree_files,
)

SUITE_REPOSITORY = "evalclient"
RECIPE = REPO_ROOT / "compose" / "suite" / "Dockerfile"
IMAGE_PYTHON = (3, 11)
"""Debian bookworm's python3, which the wheels are built for."""


def ensure_suite_image(client: Any | None = None, *, rebuild: bool = False) -> str:
    """Build the suite image unless an identical one exists; returns its `evalclient:<hash>` tag."""
    client = client if client is not None else connect()
    ensure_base_image(client)
    sources = source_files()
    tag = f"{SUITE_REPOSITORY}:{files_hash(sources)}"
    if rebuild or not image_exists(client, tag):
        context = {**sources, **_wheel_files(wheelhouse(requirements()))}
        hint = "check the wheels under ~/.cache/evalclient/wheels (delete them to prepare them again)"
        build(client, tag, context, hint=hint)
    tag_latest(client, tag)
    return tag


def requirements() -> list[str]:
    """The project's runtime dependencies, as pyproject.toml lists them."""
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [str(r) for r in data["project"]["dependencies"]]


def source_files() -> dict[str, Path]:
    """{path inside the build context: file}: the recipe and the source tree under src/."""
    if not RECIPE.is_file():
        raise EnvironmentProblem(
            f"the suite image recipe {RECIPE} is missing",
            "build the image from a source checkout of evalclient",
        )
    files = {"Dockerfile": RECIPE, "src/pyproject.toml": REPO_ROOT / "pyproject.toml"}
    for folder, prefix in (
        (PACKAGE_ROOT, "src/evalclient"),
        (REPO_ROOT / "presets", "src/presets"),
        (REPO_ROOT / "compose" / "sim", "src/compose/sim"),
    ):
        files.update(tree_files(folder, prefix))
    return files


def wheelhouse(wanted: list[str]) -> Path:
    """A folder with a wheel of every dependency and a pip to install them (once per requirement set)."""
    if sys.version_info[:2] != IMAGE_PYTHON:
        raise EnvironmentProblem(
            f"the offline suite image installs wheels for Python {IMAGE_PYTHON[0]}.{IMAGE_PYTHON[1]} (Debian "
            f"bookworm's) and this host runs {sys.version_info[0]}.{sys.version_info[1]}",
            "run it with a Python 3.11 virtual environment, or build compose/Dockerfile on a connected host",
        )
    key = hashlib.sha256("\n".join(sorted(wanted)).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evalclient" / "wheels" / key
    if (cache / "complete").is_file():
        return cache
    partial = cache.with_name(key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--wheel-dir", str(partial / "wheels"), *wanted])
    _run([*pip, "download", "--no-deps", "--only-binary=:all:", "--dest", str(partial / "pip"), "pip"])
    (partial / "complete").write_text("\n".join(wanted) + "\n", encoding="utf-8")
    shutil.rmtree(cache, ignore_errors=True)
    partial.rename(cache)
    return cache


def _wheel_files(house: Path) -> dict[str, Path]:
    files = {f"wheels/{p.name}": p for p in sorted((house / "wheels").glob("*.whl"))}
    bootstrap = sorted((house / "pip").glob("pip-*.whl"))
    if not bootstrap:
        raise EnvironmentProblem(f"no pip wheel in {house / 'pip'}", f"delete {house} and build again")
    files["bootstrap/pip.whl"] = bootstrap[-1]
    return files


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise EnvironmentProblem(
            f"preparing the suite's wheels failed: {lines[-1] if lines else 'no output'}",
            "check that PyPI (or your pip index) is reachable from this host",
        )


def main(argv: list[str] | None = None) -> int:
    """Build (when needed) and print the suite image tag; errors print one line and exit 2."""
    return build_command("evalclient.host.suite_image", __doc__, ensure_suite_image, argv)


if __name__ == "__main__":
    raise SystemExit(main())
