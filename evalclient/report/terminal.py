"""The key tables of the reports, printed with rich."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text as RichText

from evalclient.report.document import Section, Table, Text


def render(sections: Sequence[Section], console: Console) -> None:
    """Each section's text and key tables under the section's title."""
    for section in sections:
        blocks = [b for b in section.blocks if isinstance(b, Text) or (isinstance(b, Table) and b.key)]
        if not blocks:
            continue
        console.rule(f"[bold]{section.title}")
        for block in blocks:
            if isinstance(block, Text):
                console.print(RichText(block.text))
            elif block.brief is not None and not block.brief:
                console.print(RichText(f"{block.title}: nothing to flag. {block.note}"))
            else:
                console.print(_rich(block))


def _rich(table: Table) -> RichTable:
    rows = table.rows if table.brief is None else table.brief
    left = len(table.rows) - len(rows)
    caption = f"{left} more row(s) in the report. {table.note}" if left else table.note
    out = RichTable(
        title=table.title,
        caption=caption or None,
        show_lines=False,
        title_justify="left",
        caption_justify="left",
    )
    for column in table.columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(RichText(cell, style="red" if "⚑" in cell else "") for cell in row))
    if not rows:
        out.add_row(*(["(none)"] + [""] * (len(table.columns) - 1)))
    return out
