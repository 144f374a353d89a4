"""`SampleLog`: a thread-safe, time-ordered log of samples that a writer drains by position.

One thread appends (a sampler); others read: the file writer takes what is new since its last position,
the report takes a time range, the live line takes the latest. Positions are absolute (they survive
`drop_before`), so memory can be released once samples are on disk without confusing any reader.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Generic, Protocol, TypeVar


class Timed(Protocol):
    @property
    def t(self) -> float: ...


S = TypeVar("S", bound=Timed)


class SampleLog(Generic[S]):
    """Samples in the order they were appended (which is time order: each log has one appending thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[S] = []
        self._dropped = 0

    def append(self, item: S) -> None:
        with self._lock:
            self._items.append(item)

    def extend(self, items: Iterable[S]) -> None:
        with self._lock:
            self._items.extend(items)

    @property
    def count(self) -> int:
        """How many samples were ever appended (dropped ones included)."""
        with self._lock:
            return self._dropped + len(self._items)

    def __len__(self) -> int:
        """How many samples are held now."""
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[S]:
        return iter(self.snapshot())

    def snapshot(self) -> list[S]:
        with self._lock:
            return list(self._items)

    def between(self, start: float, end: float) -> list[S]:
        """The held samples with start <= t <= end."""
        with self._lock:
            return [s for s in self._items if start <= s.t <= end]

    def latest(self, n: int = 1) -> list[S]:
        with self._lock:
            return self._items[-n:] if n > 0 else []

    def since(self, position: int, until_t: float | None = None) -> tuple[list[S], int]:
        """The samples appended at or after `position` (absolute) with t <= until_t, and the next position.

        Samples already dropped are skipped (the returned position accounts for them).
        """
        with self._lock:
            first = max(0, position - self._dropped)
            end = len(self._items)
            if until_t is not None:
                end = first
                while end < len(self._items) and self._items[end].t <= until_t:
                    end += 1
            return self._items[first:end], self._dropped + end

    def drop_before(self, t: float, position: int | None = None) -> int:
        """Release the samples with time < t (and absolute position < `position`, when given); how many."""
        with self._lock:
            limit = len(self._items) if position is None else max(0, position - self._dropped)
            n = 0
            while n < min(limit, len(self._items)) and self._items[n].t < t:
                n += 1
            del self._items[:n]
            self._dropped += n
            return n
