"""In the suite's own container, the model cache and the results must have the same path as on the host.

Engine containers are the suite container's siblings: Docker mounts *host* paths into them, so a folder the
suite sees at /x must be the host's /x. The suite finds its own container (its id in /proc/self/mountinfo or
the cgroup), reads its mounts from the Docker API, and stops with the fix when a folder is not on a mount of
the same path. On a host (no container) there is nothing to check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalclient.errors import EnvironmentProblem

log = logging.getLogger(__name__)
_ID_IN_MOUNTS = re.compile(r"/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf)")
_ID_IN_CGROUP = re.compile(r"[/-]([0-9a-f]{64})(?:\.scope)?$")


@dataclass(frozen=True)
class Mount:
    """One mount of a container: where it comes from on the host, where it appears inside."""

    source: str
    destination: str


def own_container_id(proc: Path = Path("/proc/self")) -> str | None:
    """The id of the container this process runs in, None on a host (or where /proc does not say)."""
    for name, pattern in (("mountinfo", _ID_IN_MOUNTS), ("cgroup", _ID_IN_CGROUP)):
        try:
            text = (proc / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            found = pattern.search(line.strip())
            if found:
                return found.group(1)
    return None


def host_path(path: Path, mounts: Sequence[Mount]) -> str | None:
    """Where `path` (as the container sees it) is on the host; None when it is in the container's files."""
    text = str(path)
    holding = [m for m in mounts if text == m.destination or text.startswith(m.destination.rstrip("/") + "/")]
    if not holding:
        return None
    mount = max(holding, key=lambda m: len(m.destination))
    if not mount.source:  # a tmpfs or an anonymous mount: nothing on the host
        return None
    return mount.source.rstrip("/") + text[len(mount.destination.rstrip("/")) :]


def require_same_paths(
    client: Any, folders: Mapping[str, Path | None], container_id: str | None = None
) -> None:
    """EnvironmentProblem naming the fix when a folder is not at the same path inside and outside."""
    container_id = container_id or own_container_id()
    if container_id is None:
        return
    try:
        attrs = client.api.inspect_container(container_id)
    except Exception as exc:  # another engine than the one we run on: its mounts are not ours to read
        log.info("cannot inspect this container (%s) on the Docker engine: %s", container_id[:12], exc)
        return
    mounts = [
        Mount(str(m.get("Source") or ""), str(m.get("Destination") or "")) for m in attrs.get("Mounts") or ()
    ]
    for what, folder in folders.items():
        if folder is None:
            continue
        inside = folder.absolute()
        outside = host_path(inside, mounts)
        if outside == str(inside):
            continue
        if outside is None:
            raise EnvironmentProblem(
                f"the {what} {inside} is inside the evalclient container, not on the host, so engine "
                "containers cannot share it",
                f"mount a host folder at the same path (docker run -v {inside}:{inside}; "
                "compose/docker-compose.yml does this)",
            )
        raise EnvironmentProblem(
            f"the {what} is {inside} in the evalclient container but {outside} on the host; engine "
            f"containers would mount the host's {inside}",
            f"mount it at the same path: -v {outside}:{outside}, and use {outside} inside too",
        )
