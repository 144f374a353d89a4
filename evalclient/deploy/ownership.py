"""Which process owns a container: labels written at creation, read to tell orphans from live runs.

A container is labelled with its run id, the host name, the owning process's PID namespace, PID and start
time (from /proc, so a reused PID is not mistaken for the owner). A container whose owner on this host is
gone (the suite was SIGKILLed or OOM-killed) is an orphan: the next run and `evalclient cleanup` remove it;
one whose owner still runs is never touched. The PID namespace matters for the suite's own container: on the
host network it shares the host's name, but its PIDs mean nothing outside it, so only a process in the same
namespace judges.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

MANAGED_LABEL = "evalclient.managed"
RUN_LABEL = "evalclient.run_id"
HOST_LABEL = "evalclient.owner_host"
PID_LABEL = "evalclient.owner_pid"
START_LABEL = "evalclient.owner_start"
PIDNS_LABEL = "evalclient.owner_pidns"
_INIT_PIDNS = "pid:[4026531836]"  # the kernel's initial PID namespace (PROC_PID_INIT_INO)


def pid_namespace() -> str:
    """This process's PID namespace, e.g. `pid:[4026531836]` ('' where /proc cannot tell)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def owner_labels(run_id: str) -> dict[str, str]:
    """The labels that tie a resource to this run and this process."""
    pid = os.getpid()
    return {
        MANAGED_LABEL: "true",
        RUN_LABEL: run_id,
        HOST_LABEL: socket.gethostname(),
        PID_LABEL: str(pid),
        START_LABEL: process_start(pid) or "",
        PIDNS_LABEL: pid_namespace(),
    }


def owner_known_alive(labels: Mapping[str, str]) -> bool:
    """True when the labels name an owner on this host that still runs, or an owner on another host
    (not ours to judge); False for a dead owner or a container without owner labels."""
    if PID_LABEL not in labels:
        return False
    return owner_alive(labels)


def owner_alive(labels: Mapping[str, str]) -> bool:
    """True unless the labels name an owner on this host, in this PID namespace, that no longer runs.

    Containers of another host (a shared engine), of another PID namespace (the suite in a container) and
    containers without owner labels count as alive: they are not ours to judge. Labels written before the
    namespace was recorded are judged from the host's initial namespace only.
    """
    if labels.get(HOST_LABEL) != socket.gethostname() or not labels.get(PID_LABEL, "").isdigit():
        return True
    if labels.get(PIDNS_LABEL, _INIT_PIDNS) != pid_namespace():
        return True
    started = process_start(int(labels[PID_LABEL]))
    if started is None:
        return False
    recorded = labels.get(START_LABEL)
    return not recorded or recorded == started
