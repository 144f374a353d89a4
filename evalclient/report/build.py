"""`evalclient report`: read the results tree, write metrics/aggregated/summary.{csv,parquet}, one Markdown
report per folder of reports/ (run status and sanity flags at the top of each, PNG plots beside it) and the
one self-contained page reports/report.html; return the sections for the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from evalclient.errors import ResultsError
from evalclient.report import html, markdown
from evalclient.report.aggregate import summary_frame, write_summary
from evalclient.report.context import ModelInfo, ReportContext
from evalclient.report.document import Section
from evalclient.report.sections import datasets, images, models, presets, scaling, status
from evalclient.report.tree import ResultsTree, load_tree
from evalclient.results.atomic import atomic_write_bytes

Maker = Callable[[ReportContext], Section | None]
REPORTS: tuple[tuple[str, str, tuple[Maker, ...]], ...] = (
    (models.FOLDER, "Model comparison", (models.section, images.section)),
    (datasets.FOLDER, "Dataset analysis", (datasets.section,)),
    (scaling.FOLDER, "Scaling analysis", (scaling.section,)),
    (presets.FOLDER, "Preset comparison and noise floor", (presets.section,)),
)
HTML_NAME = "report.html"


@dataclass
class Reports:
    """What a build wrote, and its sections (status first) for the terminal."""

    tree: ResultsTree
    sections: list[Section]
    files: list[Path] = field(default_factory=list)

    @property
    def html(self) -> Path:
        return self.tree.base_dir / "reports" / HTML_NAME


def build_reports(
    base_dir: Path, models_info: Mapping[str, ModelInfo], compare: Sequence[Path] = ()
) -> Reports:
    """Rebuild the summary and every report of the tree at `base_dir` (other images' trees in `compare`)."""
    tree = load_tree(base_dir)
    others = [load_tree(path) for path in compare]
    frame = summary_frame(tree)
    ctx = ReportContext(tree, frame, models_info, others)
    try:
        files = write_summary(base_dir, frame)
    except OSError as exc:
        raise ResultsError(
            f"cannot write the summary in {base_dir}: {exc.strerror}", "pass --output with a writable folder"
        ) from None
    preamble = _preamble(tree)
    head = status.section(ctx)
    sections = [head]
    root = base_dir / "reports"
    for folder, title, makers in REPORTS:
        parts = [s for make in makers if (s := make(ctx)) is not None]
        sections.extend(parts)
        text, figures = markdown.render(title, [head, *parts], preamble)
        files.extend(_write_folder(root / folder, f"{folder}.md", text, figures))
    page = html.render("evalclient report", sections, preamble)
    _write(root / HTML_NAME, page.encode("utf-8"))
    files.append(root / HTML_NAME)
    index = "\n".join(
        ["# Reports", "", preamble, "", f"- [{HTML_NAME}]({HTML_NAME}): everything on one page"]
        + [f"- [{title}]({folder}/{folder}.md)" for folder, title, _ in REPORTS]
    )
    _write(root / "README.md", (index + "\n").encode("utf-8"))
    files.append(root / "README.md")
    return Reports(tree, sections, files)


def _preamble(tree: ResultsTree) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Built {now} from {tree.base_dir} by `evalclient report`."


def _write_folder(folder: Path, name: str, text: str, figures: Mapping[str, bytes]) -> list[Path]:
    """The report and its figures; PNG files of an earlier build that this one did not draw are removed."""
    written = [folder / name]
    _write(folder / name, text.encode("utf-8"))
    for figure, png in figures.items():
        _write(folder / figure, png)
        written.append(folder / figure)
    for stale in folder.glob("*.png"):
        if stale.name not in figures:
            stale.unlink(missing_ok=True)
    return written


def _write(path: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ResultsError(
            f"cannot write {path}: {exc.strerror}", "pass --output with a writable folder"
        ) from None
