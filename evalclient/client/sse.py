"""Server-sent events read from raw byte chunks, each batch stamped with its arrival time.

The hot path of a streamed request: one TCP read may carry several events, so events are split out of the
bytes here (not line by line through the stream reader) and every event of one read shares the read's
`time.monotonic()` — the moment they reached the client. Payloads stay bytes (`json.loads` takes them).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp

Batch = tuple[float, list[bytes]]


async def sse_batches(stream: aiohttp.StreamReader) -> AsyncIterator[Batch]:
    """(arrival time, the data payloads completed by that read) for every read that completes events."""
    buffer = b""
    async for chunk in stream.iter_any():
        now = time.monotonic()
        buffer = buffer + chunk if buffer else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        if b"\n\n" not in buffer:
            continue
        *events, buffer = buffer.split(b"\n\n")
        datas = [data for data in map(event_data, events) if data is not None]
        if datas:
            yield now, datas
    if buffer.strip():
        data = event_data(buffer.strip(b"\n"))
        if data is not None:
            yield time.monotonic(), [data]


def event_data(event: bytes) -> bytes | None:
    """An event's data field (several data lines joined by newlines); None for comments and other fields."""
    if event.startswith(b"data:") and b"\n" not in event:
        return event[6:] if event[5:6] == b" " else event[5:]
    lines = [
        line[6:] if line[5:6] == b" " else line[5:]
        for line in event.split(b"\n")
        if line.startswith(b"data:")
    ]
    return b"\n".join(lines) if lines else None
