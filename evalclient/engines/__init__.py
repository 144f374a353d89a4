"""Inference engines: one adapter module per engine (flags, protocols, metrics) and the Docker lifecycle.

Adding an engine: write its adapter module and add it to `_ENGINES` (the first is the default).
"""

from __future__ import annotations

from evalclient.engines.base import EngineAdapter, LaunchSpec
from evalclient.engines.llamacpp import LlamaCppAdapter
from evalclient.engines.registry import engine_kinds, get_adapter, register
from evalclient.engines.sglang import SGLangAdapter
from evalclient.engines.tgi import TGIAdapter
from evalclient.engines.vllm import VLLMAdapter

_ENGINES = (TGIAdapter, VLLMAdapter, SGLangAdapter, LlamaCppAdapter)
for _adapter in _ENGINES:
    register(_adapter)

__all__ = ["EngineAdapter", "LaunchSpec", "engine_kinds", "get_adapter", "register"]
