"""The async client of inference servers: request kinds, engine protocols, the completion record."""

from __future__ import annotations

from evalclient.client.completion import Completion, ErrorKind, RequestError, TokenLogprob, ToolCall
from evalclient.client.requests import (
    ChatRequest,
    GenerateRequest,
    LoglikelihoodRequest,
    Request,
    RequestKind,
    Sampling,
)
from evalclient.client.server import ServerClient

__all__ = [
    "ChatRequest",
    "Completion",
    "ErrorKind",
    "GenerateRequest",
    "LoglikelihoodRequest",
    "Request",
    "RequestError",
    "RequestKind",
    "Sampling",
    "ServerClient",
    "TokenLogprob",
    "ToolCall",
]
