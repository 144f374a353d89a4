"""The one error hierarchy of evalclient; every message tells the user what to do next.

    EvalClientError (exit 1)              the CLI prints `error: <message>; <hint>` on one line
    ├── UsageError (2)                    bad command-line input
    ├── ConfigError (2)                   a config file or field (both named)
    ├── EnvironmentProblem (2)            the host lacks something
    │   ├── DockerUnavailableError
    │   ├── GPUUnavailableError
    │   └── ClusterError
    ├── EngineError (1)                   an inference container that fails to start, dies or is lost
    ├── DatasetError (2)                  a dataset that cannot be loaded or does not match its schema
    └── ResultsError (1)                  the results tree cannot be written or read
        ├── OutputFolderError (2)         the --output folder itself cannot be made
        ├── RunInProgressError (2)        another run holds the folder
        └── DiskFullError (1)             the disk under the results filled up

A request's failure is never an exception past the client: it is data, a `RequestError` with an `ErrorKind`
(client/completion.py: connection, timeout, http_4xx, http_5xx, overloaded, stream_error, malformed,
unsupported, internal) on that request's `Completion`. It fails that sample only: the combination is
`partial` (some samples failed) or `failed` (all did), with the first error as its reason; connection,
timeout and overloaded are retried by the client before they are recorded, and a rerun asks a failed sample
again (http_4xx, unsupported and malformed are advised as permanent). A server lost for good (its container
exited, its /health fails) becomes an EngineError for its deployment's remaining combinations.
"""

from __future__ import annotations


class EvalClientError(Exception):
    """Base of every error the suite raises on purpose; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class UsageError(EvalClientError):
    """Bad command-line input: unknown names, conflicting options."""

    exit_code = 2


class ConfigError(EvalClientError):
    """A configuration file is missing, malformed or holds a bad value (file and field named)."""

    exit_code = 2


class EnvironmentProblem(EvalClientError):
    """The host lacks something the command needs (Docker engine, GPU, NVIDIA runtime)."""

    exit_code = 2


class DockerUnavailableError(EnvironmentProblem):
    """The Docker engine cannot be reached."""


class GPUUnavailableError(EnvironmentProblem):
    """No usable NVIDIA GPU or container runtime where one is required."""


class ClusterError(EnvironmentProblem):
    """The Ray cluster cannot be reached or cannot run the sweep (no GPUs, a node without Docker)."""


class EngineError(EvalClientError):
    """An inference container failed to start, exited or never became ready."""


class DatasetError(EvalClientError):
    """A dataset could not be loaded or does not match its hub schema."""

    exit_code = 2


class ResultsError(EvalClientError):
    """The results tree cannot be written or read."""


class OutputFolderError(ResultsError):
    """The results folder asked for cannot be created or written: a usage error, fixed by another --output."""

    exit_code = 2


class RunInProgressError(ResultsError):
    """Another run holds the results folder."""

    exit_code = 2


class DiskFullError(ResultsError):
    """The disk under the results filled up: the run stops; what was written before stands."""
