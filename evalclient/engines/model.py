"""The model under evaluation as solvers see it: a deployment's client with the engine's switches applied."""

from __future__ import annotations

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest, GenerateRequest, LoglikelihoodRequest
from evalclient.client.server import ServerClient
from evalclient.engines.base import EngineAdapter


class DeploymentModel:
    """Implements the tasks' `ModelHandle` over one server: chat requests get the thinking-mode switch and
    the model's end-of-turn tokens (models.yaml `stop_token_ids`) where the engine takes them."""

    def __init__(
        self,
        client: ServerClient,
        adapter: EngineAdapter,
        thinking: str,
        stop_token_ids: tuple[int, ...] = (),
    ) -> None:
        self.client = client
        self.adapter = adapter
        self.thinking = thinking
        self.stop_token_ids = stop_token_ids

    async def chat(self, request: ChatRequest) -> Completion:
        request = self.adapter.apply_stop_tokens(request, self.stop_token_ids)
        return await self.client.send(self.adapter.apply_thinking(request, self.thinking))

    async def generate(self, request: GenerateRequest) -> Completion:
        return await self.client.send(request)

    async def loglikelihood(self, request: LoglikelihoodRequest) -> Completion:
        return await self.client.send(request)
