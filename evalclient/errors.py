"""The one error hierarchy of evalclient; every message tells the user what to do next."""

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


class ServerError(EvalClientError):
    """The inference server answered with an error that retries did not cure."""


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
