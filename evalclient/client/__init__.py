"""The async client of inference servers (OpenAI chat protocol, as TGI, vLLM and SGLang serve it)."""

from __future__ import annotations

from evalclient.client.server import ServerClient
from evalclient.client.types import GenerationRequest, RequestRecord

__all__ = ["GenerationRequest", "RequestRecord", "ServerClient"]
