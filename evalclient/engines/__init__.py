"""Inference engines: adapters (preset → flags) and the Docker container lifecycle."""

from __future__ import annotations

from evalclient.engines.base import EngineAdapter, LaunchSpec
from evalclient.engines.sglang import SGLangAdapter
from evalclient.engines.tgi import TGIAdapter
from evalclient.engines.vllm import VLLMAdapter
from evalclient.errors import UsageError

_ADAPTERS: dict[str, type[EngineAdapter]] = {"tgi": TGIAdapter, "vllm": VLLMAdapter, "sglang": SGLangAdapter}


def get_adapter(kind: str) -> EngineAdapter:
    """The adapter for an engine kind (tgi, vllm, sglang)."""
    if kind not in _ADAPTERS:
        raise UsageError(f"unknown engine '{kind}'", f"valid engines: {', '.join(_ADAPTERS)}")
    return _ADAPTERS[kind]()


__all__ = ["EngineAdapter", "LaunchSpec", "get_adapter"]
