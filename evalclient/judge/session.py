"""One judge for a whole `evalclient judge` call, started only when there is something to judge.

`JudgeSession.for_store(store)` gives the scorers of one combination a `Judge` (tasks/context.py): its
`grade` takes the judgments stored under the same key and sends only the rest, each stored as it arrives.
The judge itself (an endpoint client, or a deployment started for it) is opened on the first request that
must be sent, inside the session's exit stack, so a call that has nothing left to judge starts nothing and
sends nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, Protocol

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest
from evalclient.errors import EvalClientError
from evalclient.judge.store import JudgmentStore, judgment_key
from evalclient.tasks.context import JudgeItem, Judgment


class ChatSender(Protocol):
    """What a started judge offers: chat completions."""

    async def chat(self, request: ChatRequest) -> Completion: ...


Opener = Callable[[AsyncExitStack], Awaitable[ChatSender]]
"""Starts the judge inside the exit stack (which stops it) and returns its sender."""


class JudgeSession:
    """The judge's identity, its lazily started sender, and what was sent."""

    def __init__(self, identity: dict[str, Any], opener: Opener, stack: AsyncExitStack) -> None:
        self.identity = identity
        self._opener = opener
        self._stack = stack
        self._sender: ChatSender | None = None
        self._failed: EvalClientError | None = None
        self._starting = asyncio.Lock()
        self.sent = 0
        self.reused = 0

    @property
    def name(self) -> str:
        return str(self.identity["name"])

    async def sender(self) -> ChatSender:
        """The started judge; a judge that failed to start fails every later call with the same error."""
        async with self._starting:
            if self._failed is not None:
                raise self._failed
            if self._sender is None:
                try:
                    self._sender = await self._opener(self._stack)
                except EvalClientError as exc:
                    self._failed = exc
                    raise
        return self._sender

    def for_store(self, store: JudgmentStore, judges_own_answers: bool = False) -> StoredJudge:
        """The Judge of one combination; `judges_own_answers` when the judge is the model that answered."""
        return StoredJudge(self, store, {"judges_own_answers": judges_own_answers})


class StoredJudge:
    """A `Judge` over one combination's judgments file."""

    def __init__(self, session: JudgeSession, store: JudgmentStore, extra: dict[str, Any]) -> None:
        self.session = session
        self.store = store
        self._extra = extra

    @property
    def identity(self) -> dict[str, Any]:
        return {**self.session.identity, **self._extra}

    async def grade(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        stored = self.store.load()
        keys = [judgment_key(self.session.name, item.request) for item in items]
        results: list[Judgment | None] = [
            Judgment(item, stored[key], reused=True) if key in stored else None
            for item, key in zip(items, keys, strict=True)
        ]
        self.session.reused += sum(1 for r in results if r is not None)
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            sender = await self.session.sender()

            async def one(index: int) -> None:
                item = items[index]
                completion = await sender.chat(item.request)
                self.session.sent += 1
                if completion.error is None:
                    self.store.append(keys[index], self.identity, item, completion)
                results[index] = Judgment(item, completion)

            async with asyncio.TaskGroup() as group:
                for index in todo:
                    group.create_task(one(index))
        return [r for r in results if r is not None]
