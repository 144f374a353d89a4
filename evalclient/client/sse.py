"""Server-sent events: the `data:` payloads of a streamed HTTP response, in TGI's and OpenAI's framing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp


async def sse_data(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """Yield each event's data (multi-line data joined by newlines); comments and other fields are skipped."""
    lines: list[str] = []
    async for raw in response.content:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
            continue
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
    if lines:
        yield "\n".join(lines)
