"""How each request kind is spoken to each engine: one protocol object per (engine, kind)."""

from evalclient.client.protocols.base import Protocol
from evalclient.client.protocols.llamacpp import LlamaCppChat, LlamaCppGenerate, NoLoglikelihood
from evalclient.client.protocols.openai_chat import OpenAIChat
from evalclient.client.protocols.openai_completions import CompletionsGenerate, CompletionsLoglikelihood
from evalclient.client.protocols.sglang_native import SGLangLoglikelihood
from evalclient.client.protocols.tgi import TGIGenerate, TGILoglikelihood

__all__ = [
    "CompletionsGenerate",
    "CompletionsLoglikelihood",
    "LlamaCppChat",
    "LlamaCppGenerate",
    "NoLoglikelihood",
    "OpenAIChat",
    "Protocol",
    "SGLangLoglikelihood",
    "TGIGenerate",
    "TGILoglikelihood",
]
