"""Ports for servers on the host network, leased without a check-then-use race between evalclient runs.

A lease holds an exclusive lock on `<tmp>/evalclient-ports/<port>.lock` for each of its ports for as long as
the deployment lives, and each port is free when leased; another evalclient process (or another deployment
of this one) cannot lease it meanwhile. The locks go with the process, so a killed suite leaves no stale
lease. A deployment leases its HTTP port and the ones its engine binds besides (engines/base.py `Ports`).
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
    """`with PortLease(count=3) as lease:` free loopback ports reserved for this process (`lease.ports`;
    `lease.port` is the first)."""

    def __init__(self, host: str = "127.0.0.1", lock_dir: Path | None = None, count: int = 1) -> None:
        self.host = host
        self.lock_dir = lock_dir or Path(tempfile.gettempdir()) / "evalclient-ports"
        self.count = count
        self.ports: tuple[int, ...] = ()
        self._fds: list[int] = []

    @property
    def port(self) -> int:
        return self.ports[0] if self.ports else 0

    def __enter__(self) -> PortLease:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.ports = tuple(self._lease_one() for _ in range(self.count))
        except BaseException:
            self._release()
            raise
        return self

    def _lease_one(self) -> int:
        for _ in range(_ATTEMPTS):
            port = _unused_port(self.host)
            fd = os.open(self.lock_dir / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if port not in self.ports and _bindable(self.host, port):  # still free now that it is ours
                self._fds.append(fd)
                return port
            os.close(fd)
        raise EnvironmentProblem(f"no free port on {self.host} after {_ATTEMPTS} tries", "free some ports")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release()

    def _release(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


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
