"""`make bench`: the 164 canonical HumanEval solutions executed in the code sandboxes, wall time each.

The container sandbox's time covers everything a scorer waits for: creating the throw-away container,
feeding it the batch, running the programs (as many at once as there are CPUs) and removing it. The image is
made ready (built offline when missing) before the clock starts. The subprocess sandbox is timed beside it.
The issue's target: under 15 s on a 2-core machine with the container sandbox. Exits 1 when a canonical
solution does not pass.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter

from evalclient.config import SandboxSettings
from evalclient.errors import EvalClientError
from evalclient.sandbox.local import SubprocessSandbox
from evalclient.tasks.context import CodeSandbox, Program
from evalclient.tasks.humaneval import harness_test, package_rows

TARGET_S = 15.0


def _programs() -> list[Program]:
    return [Program(row["prompt"] + row["canonical_solution"], harness_test(row)) for row in package_rows()]


def _container_sandbox() -> CodeSandbox | str:
    from evalclient.deploy.docker_engine import connect
    from evalclient.host.sim_image import BASE_IMAGE, ensure_base_image
    from evalclient.sandbox.container import DockerSandbox

    try:
        client = connect()
        ensure_base_image(client)
    except EvalClientError as exc:
        return f"skipped: {exc}"
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    return DockerSandbox(
        client, BASE_IMAGE, SandboxSettings(kind="docker"), run_id, len(os.sched_getaffinity(0))
    )


def _time(sandbox: CodeSandbox, programs: list[Program]) -> tuple[float, Counter[str]]:
    started = time.monotonic()
    results = asyncio.run(sandbox.run(programs))
    return time.monotonic() - started, Counter(r.status for r in results)


def main() -> int:
    programs = _programs()
    cpus = len(os.sched_getaffinity(0))
    print(f"{len(programs)} canonical HumanEval solutions, {cpus} CPUs, per-program timeout 3 s")
    ok = True
    for label, sandbox in (("container", _container_sandbox()), ("subprocess", SubprocessSandbox())):
        if isinstance(sandbox, str):
            print(f"{label:>10}: {sandbox}")
            continue
        wall, statuses = _time(sandbox, programs)
        passed = statuses["passed"]
        note = (
            f" (target < {TARGET_S:.0f} s: {'met' if wall < TARGET_S else 'MISSED'})"
            if label == "container"
            else ""
        )
        print(f"{label:>10}: {passed}/{len(programs)} passed in {wall:.2f} s{note}  [{sandbox.name}]")
        ok = ok and passed == len(programs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
