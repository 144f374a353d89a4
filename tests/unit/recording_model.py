"""A ModelHandle that records the requests a solver builds and answers each chat with a fixed text.

For tests of what a solver asks; how the answers come back from a real server is tested against the simulator
and TGI's recorded output.
"""

from __future__ import annotations

from evalclient.client import ChatRequest, Completion, GenerateRequest, LoglikelihoodRequest, RequestKind


class RecordingModel:
    def __init__(self, text: str = "") -> None:
        self.text = text
        self.requests: list[ChatRequest | GenerateRequest | LoglikelihoodRequest] = []

    async def chat(self, request: ChatRequest) -> Completion:
        self.requests.append(request)
        return Completion(request.id, RequestKind.CHAT, text=self.text, finish_reason="stop")

    async def generate(self, request: GenerateRequest) -> Completion:
        self.requests.append(request)
        return Completion(request.id, RequestKind.GENERATE, text=self.text, finish_reason="eos_token")

    async def loglikelihood(self, request: LoglikelihoodRequest) -> Completion:
        self.requests.append(request)
        return Completion(request.id, RequestKind.LOGLIKELIHOOD, loglikelihood=-1.0, continuation_tokens=1)
