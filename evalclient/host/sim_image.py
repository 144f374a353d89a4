"""Builds the simulator's Docker image offline (runs on the host; the only sim module that uses Docker).

`ensure_sim_image()` makes sure `evalclient-base:bookworm` exists (running compose/sim/make-base.sh, which
uses debootstrap, when it does not), then builds `evalclient-sim:<hash>` from a minimal build context:
compose/sim/Dockerfile, evalclient/__init__.py and evalclient/sim/. `<hash>` is 12 hex digits of a
SHA-256 over those files, so an unchanged tree is found and reused at once. `evalclient-sim:latest` is
moved to the result. `python3 -m evalclient.host.sim_image [--rebuild]` builds and prints the tag.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalclient.deploy.docker_engine import connect
from evalclient.errors import EnvironmentProblem
from evalclient.host.images import (
    BASE_IMAGE,
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

__all__ = ["BASE_IMAGE", "ensure_base_image", "ensure_sim_image", "source_hash"]
SIM_REPOSITORY = "evalclient-sim"
VARIANT_REPOSITORY = "evalclient-sim-variant"
RECIPE_DIR = REPO_ROOT / "compose" / "sim"


def ensure_sim_image(client: Any | None = None, *, rebuild: bool = False) -> str:
    """Build the simulator image unless an identical one exists; returns its `evalclient-sim:<hash>` tag."""
    client = client if client is not None else connect()
    ensure_base_image(client)
    tag = f"{SIM_REPOSITORY}:{source_hash()}"
    if rebuild or not image_exists(client, tag):
        hint = (
            f"check that {BASE_IMAGE} is a working python3 image (rebuild it: FORCE=1 sh "
            f"{RECIPE_DIR / 'make-base.sh'})"
        )
        build(client, tag, _context_files(), hint=hint)
    tag_latest(client, tag)
    return tag


def sim_variant(client: Any, base: str, flags: Sequence[str]) -> str:
    """The simulator image `base` with `flags` on its command line (latency, faults: for tests and benches);
    tagged by a hash of both, built on Docker's layer cache."""
    entry = json.dumps(["python3", "-m", "evalclient.sim", *flags])
    tag = f"{VARIANT_REPOSITORY}:{hashlib.sha256((base + entry).encode()).hexdigest()[:12]}"
    dockerfile = f"FROM {base}\nENTRYPOINT {entry}\n"
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    return tag


def source_hash() -> str:
    """12 hex digits of SHA-256 over the build context's relative paths and contents."""
    return files_hash(_context_files())


def _context_files() -> dict[str, Path]:
    """{path inside the build context: file on disk}."""
    dockerfile = RECIPE_DIR / "Dockerfile"
    if not dockerfile.is_file():
        raise EnvironmentProblem(
            f"the simulator recipe {dockerfile} is missing",
            "build the image from a source checkout of evalclient",
        )
    files = {"Dockerfile": dockerfile, "evalclient/__init__.py": PACKAGE_ROOT / "__init__.py"}
    files.update(tree_files(PACKAGE_ROOT / "sim", "evalclient/sim"))
    return files


def main(argv: list[str] | None = None) -> int:
    """Build (when needed) and print the simulator image tag; errors print one line and exit 2."""
    return build_command("evalclient.host.sim_image", __doc__, ensure_sim_image, argv)


if __name__ == "__main__":
    raise SystemExit(main())
