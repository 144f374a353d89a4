"""The report's figures, drawn with matplotlib (Agg, no display) and returned as PNG bytes. Every axis of a
score, a throughput, a time or a count starts at zero (scores span 0–1.05), so that a difference of a few
percent is drawn as small as it is."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

DPI = 110
_MARKERS = "osD^vP*X"


def grouped_bars(
    categories: Sequence[str], series: Mapping[str, Sequence[float | None]], ylabel: str, title: str
) -> bytes | None:
    """One group of bars per category, one bar per series; a missing value is left out (not drawn as 0)."""
    if not categories or not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(categories) + 2), 4.2))
    width = 0.8 / len(series)
    for index, (name, values) in enumerate(series.items()):
        xs = [i + (index - (len(series) - 1) / 2) * width for i in range(len(categories))]
        shown = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        ax.bar([x for x, _ in shown], [v for _, v in shown], width=width * 0.95, label=name)
    ax.set_xticks(range(len(categories)), list(categories), rotation=15, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=min(3, len(series)))
    return _png(fig)


def pareto_scatter(
    points: Mapping[str, Sequence[tuple[str, float, float, bool]]], xlabel: str, ylabel: str, title: str
) -> bytes | None:
    """Per model, its presets as (label, x ≥ 0, score y on 0–1, starred); starred points are filled and
    joined."""
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for index, (model, presets) in enumerate(points.items()):
        marker = _MARKERS[index % len(_MARKERS)]
        color = f"C{index % 10}"
        front = sorted((x, y) for _, x, y, on in presets if on)
        if len(front) > 1:
            ax.plot([x for x, _ in front], [y for _, y in front], color=color, alpha=0.5)
        for order, (label, x, y, on) in enumerate(presets):
            ax.scatter(x, y, marker=marker, s=70, color=color, facecolors=color if on else "none")
            offset = (5, 5) if order % 2 == 0 else (5, -12)  # neighbours' labels above and below
            ax.annotate(label, (x, y), textcoords="offset points", xytext=offset, fontsize=7)
        ax.scatter([], [], marker=marker, color=color, label=model)
    right = max((x for presets in points.values() for _, x, _, _ in presets), default=0.0)
    ax.set_xlim(0, right * 1.15 if right > 0 else 1.0)  # room for the labels right of the points
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="filled: ★", title_fontsize=8)
    return _png(fig)


def boxplots(groups: Mapping[str, Sequence[float]], ylabel: str, title: str) -> bytes | None:
    """One box per group (groups without values are left out), of values ≥ 0."""
    shown = {name: list(values) for name, values in groups.items() if values}
    if not shown:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(shown) + 2), 4.2))
    ax.boxplot(list(shown.values()), showfliers=True)
    ax.set_xticks(range(1, len(shown) + 1), [f"{k}\n(n={len(v)})" for k, v in shown.items()], fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def slopes(
    lines: Mapping[str, Sequence[tuple[float, float]]], xlabel: str, ylabel: str, title: str
) -> bytes | None:
    """One line per family through its (x ≥ 0, y ≥ 0) points, e.g. parameters → score."""
    if not lines:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for index, (name, points) in enumerate(lines.items()):
        ordered = sorted(points)
        ax.plot([x for x, _ in ordered], [y for _, y in ordered], marker=_MARKERS[index % 8], label=name)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    _pyplot().close(fig)
    return buffer.getvalue()
