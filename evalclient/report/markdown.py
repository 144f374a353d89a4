"""Sections rendered to Markdown: one file per report folder, its figures as PNG files beside it."""

from __future__ import annotations

from collections.abc import Sequence

from evalclient.report.document import Figure, Section, Table, Text


def render(title: str, sections: Sequence[Section], preamble: str = "") -> tuple[str, dict[str, bytes]]:
    """(Markdown text, {png file name: bytes}) of one report."""
    lines = [f"# {title}", ""]
    if preamble:
        lines += [preamble, ""]
    figures: dict[str, bytes] = {}
    for section in sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Text):
                lines += [block.text, ""]
            elif isinstance(block, Table):
                lines += _table(block)
            elif isinstance(block, Figure):
                name = f"{block.name}.png"
                figures[name] = block.png
                lines += [f"![{block.caption}]({name})", "", f"*{block.caption}*", ""]
    return "\n".join(lines).rstrip() + "\n", figures


def _table(table: Table) -> list[str]:
    lines = [f"### {table.title}", ""]
    if not table.rows:
        return [*lines, "(none)", ""]
    lines.append("| " + " | ".join(_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    lines.append("")
    if table.note:
        lines += [f"_{table.note}_", ""]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "
