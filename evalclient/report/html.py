"""Every section on one self-contained HTML page: a table of contents, the tables, and the plots embedded
as data URIs, so that the file opens anywhere without a network or the files beside it."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from evalclient.report.document import Figure, Section, Table, Text

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1300px;
       padding: 0 1.5em; color: #1d1d1f; }
h1 { border-bottom: 2px solid #444; padding-bottom: .3em; }
h2 { margin-top: 2.2em; border-bottom: 1px solid #bbb; }
h3 { margin-top: 1.6em; font-size: 1.05em; }
nav { background: #f4f4f6; padding: .6em 1.2em; border-radius: 6px; }
nav li { margin: .15em 0; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .55em; text-align: left; vertical-align: top; }
th { background: #eceef2; }
tr:nth-child(even) td { background: #fafafa; }
td.flag { color: #a40000; }
p.note { font-size: .82em; color: #555; max-width: 1100px; }
figure { display: inline-block; vertical-align: top; margin: 1em 1em 1em 0; max-width: 46%; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .85em; color: #555; }
"""


def render(title: str, sections: Sequence[Section], preamble: str = "") -> str:
    toc: list[str] = []
    body: list[str] = []
    for section in sections:
        toc.append(f'<li><a href="#{section.anchor}">{escape(section.title)}</a></li>')
        body.append(f'<section id="{section.anchor}"><h2>{escape(section.title)}</h2>')
        for index, block in enumerate(section.blocks):
            if isinstance(block, Text):
                body.append(f"<p>{escape(block.text)}</p>")
            elif isinstance(block, Table):
                body.append(_table(block, f"{section.anchor}-{index}"))
            elif isinstance(block, Figure):
                data = base64.b64encode(block.png).decode("ascii")
                body.append(
                    f'<figure><img class="plot" alt="{escape(block.caption)}" '
                    f'src="data:image/png;base64,{data}"><figcaption>{escape(block.caption)}</figcaption></figure>'
                )
        body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{escape(title)}</h1><p>{escape(preamble)}</p>\n"
        f'<nav id="contents"><strong>Contents</strong><ul>{"".join(toc)}</ul></nav>\n'
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _table(table: Table, anchor: str) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = (
        "".join("<tr>" + "".join(_td(cell) for cell in row) + "</tr>" for row in table.rows)
        or f'<tr><td colspan="{len(table.columns)}">(none)</td></tr>'
    )
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<h3 id="{anchor}">{escape(table.title)}</h3>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}"
    )


def _td(cell: str) -> str:
    flagged = "⚑" in cell or cell in ("failed", "missing", "unreadable", "partial")
    return f'<td class="flag">{escape(cell)}</td>' if flagged else f"<td>{escape(cell)}</td>"
