"""The model under evaluation as solvers see it: a deployment's client with the engine's switches applied."""

from __future__ import annotations

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, GenerateRequest, LoglikelihoodRequest
from evalclient.client.server import ServerClient
from evalclient.engines.base import EngineAdapter


class DeploymentModel:
    """Implements the tasks' `ModelHandle` over one server: chat requests get the thinking-mode switch."""

    def __init__(self, client: ServerClient, adapter: EngineAdapter, thinking: str) -> None:
        self.client = client
        self.adapter = adapter
        self.thinking = thinking

    async def chat(self, request: ChatRequest) -> Completion:
        return await self.client.send(self.adapter.apply_thinking(request, self.thinking))

    async def generate(self, request: GenerateRequest) -> Completion:
        return await self.client.send(request)

    async def loglikelihood(self, request: LoglikelihoodRequest) -> Completion:
        return await self.client.send(request)
