"""The server's KV-cache token budget, which memory_efficiency divides by."""

from __future__ import annotations

import re
from typing import Any

# TGI's router logs "Setting max batch total tokens to N" once it has sized the KV cache.
_TGI_LOG = re.compile(r"max batch total tokens to (\d+)", re.IGNORECASE)


def batch_token_budget(logs: str, info: dict[str, Any], configured: int | None) -> int | None:
    """The budget the server reported (logs, then /info), else the preset's value, else None."""
    found = _TGI_LOG.findall(logs)
    if found:
        return int(found[-1])
    reported = info.get("max_batch_total_tokens")
    if isinstance(reported, int) and reported > 0:
        return reported
    return configured
