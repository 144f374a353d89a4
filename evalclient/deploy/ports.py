"""Ports for servers on the host network, leased without a check-then-use race between evalclient runs.

A lease holds an exclusive lock on `<tmp>/evalclient-ports/<port>.lock` for as long as the deployment lives,
and the port is free when leased; another evalclient process (or another deployment of this one) cannot
lease it meanwhile. The lock goes with the process, so a killed suite leaves no stale lease.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from pathlib import Path
from types import TracebackType

from evalclient.errors import EnvironmentProblem

_ATTEMPTS = 50


class PortLease:
    """`with PortLease() as lease:` a free loopback port reserved for this process (`lease.port`)."""

    def __init__(self, host: str = "127.0.0.1", lock_dir: Path | None = None) -> None:
        self.host = host
        self.lock_dir = lock_dir or Path(tempfile.gettempdir()) / "evalclient-ports"
        self.port = 0
        self._fd: int | None = None

    def __enter__(self) -> PortLease:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(_ATTEMPTS):
            port = _unused_port(self.host)
            fd = os.open(self.lock_dir / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if _bindable(self.host, port):  # still free now that it is ours
                self.port, self._fd = port, fd
                return self
            os.close(fd)
        raise EnvironmentProblem(f"no free port on {self.host} after {_ATTEMPTS} tries", "free some ports")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _unused_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
