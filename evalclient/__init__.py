"""evalclient: containerized evaluation suite for LLM inference servers."""

__version__ = "0.1.0"
