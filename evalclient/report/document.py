"""The reports as data: sections of text, tables and figures, rendered alike to Markdown, HTML and the
terminal. Cells are formatted here, once: every number with its sample count, every gap with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    key: bool = False
    """Printed in the terminal too."""
    note: str = ""
    brief: tuple[tuple[str, ...], ...] | None = None
    """The rows the terminal prints, where not all (the others are counted)."""


@dataclass(frozen=True)
class Figure:
    name: str
    """File stem of the PNG beside the Markdown file."""
    caption: str
    png: bytes


Block = Text | Table | Figure


@dataclass
class Section:
    """A titled part of one report folder (model_comparison, dataset_analysis, …)."""

    folder: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")

    def text(self, text: str) -> None:
        self.blocks.append(Text(text))

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        key: bool = False,
        note: str = "",
        brief: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """A table; a reason why a value is missing that recurs in it is given once, as a footnote."""
        cells, footnotes = _footnoted([tuple(r) for r in rows])
        note = " ".join([note, *footnotes]).strip()
        short = None if brief is None else tuple(_footnoted([tuple(r) for r in brief])[0])
        self.blocks.append(Table(title, tuple(columns), tuple(cells), key, note, short))

    def figure(self, name: str, caption: str, png: bytes | None) -> None:
        if png is not None:
            self.blocks.append(Figure(name, caption, png))


def number(value: Any, spec: str = ".3f") -> str:
    """A number formatted, or "n/a" for a missing one (callers say why beside it)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and not spec.endswith("%"):
        return str(value)
    return format(value, spec)


def with_n(value: Any, n: int | None, spec: str = ".3f") -> str:
    """ "0.833 (n=6)": a value and the sample count behind it."""
    return f"{number(value, spec)} (n={n})" if n is not None else number(value, spec)


def plural(n: int, word: str) -> str:
    """ "1 dataset", "3 datasets"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def signed(value: float, spec: str = ".3f") -> str:
    return format(value, "+" + spec)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _footnoted(rows: list[tuple[str, ...]]) -> tuple[list[tuple[str, ...]], list[str]]:
    """Cells "n/a: <reason>" whose reason recurs become "n/a [k]", with "[k] <reason>" in the footnotes."""
    counts: dict[str, int] = {}
    for row in rows:
        for cell in row:
            if cell.startswith("n/a: "):
                counts[cell] = counts.get(cell, 0) + 1
    marks = {cell: f"[{i}]" for i, cell in enumerate((c for c, n in counts.items() if n > 1), 1)}
    out = [tuple(f"n/a {marks[c]}" if c in marks else c for c in row) for row in rows]
    return out, [f"{mark} n/a: {cell[5:]}" for cell, mark in marks.items()]
