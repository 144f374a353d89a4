"""The engines evalclient knows, registered by their adapter modules; every engine list reads this one."""

from __future__ import annotations

from typing import TypeVar

from evalclient.engines.base import EngineAdapter
from evalclient.errors import UsageError

_ADAPTERS: dict[str, type[EngineAdapter]] = {}
A = TypeVar("A", bound=type[EngineAdapter])


def register(adapter: A) -> A:
    """Class decorator: make an adapter available under its `kind`."""
    _ADAPTERS[adapter.kind] = adapter
    return adapter


def engine_kinds() -> tuple[str, ...]:
    """Registered engine names, in registration order (the default first)."""
    return tuple(_ADAPTERS)


def get_adapter(kind: str) -> EngineAdapter:
    """The adapter for an engine kind; UsageError naming the valid ones."""
    if kind not in _ADAPTERS:
        raise UsageError(f"unknown engine '{kind}'", f"valid engines: {', '.join(_ADAPTERS)}")
    return _ADAPTERS[kind]()
