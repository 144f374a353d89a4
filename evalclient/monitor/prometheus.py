"""A small parser for the Prometheus text exposition format (version 0.0.4, plus OpenMetrics' `# EOF`).

Handles `# HELP` / `# TYPE` comments, label sets with escaped values (`\\\\`, `\\"`, `\\n`), trailing commas,
optional timestamps, `NaN` / `+Inf` / `-Inf`, exemplars (ignored) and histogram / summary families
(`_bucket`, `_sum`, `_count`). A malformed line is skipped and noted in `Exposition.malformed`: a monitor
must not fail because one line of a server's output is odd.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
_SUFFIXES = {
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("_sum", "_count", "_created"),
    "counter": ("_total", "_created"),
    "info": ("_info",),
}


class ParseError(ValueError):
    """One exposition line could not be parsed (kept internal: the parser records and skips it)."""


@dataclass(frozen=True)
class Sample:
    """One exposition line: the full sample name (e.g. `x_bucket`), labels, value and optional ms stamp."""

    name: str
    labels: Mapping[str, str]
    value: float
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Histogram:
    """One histogram series: cumulative `(le, count)` buckets in ascending order, `sum` and `count`."""

    buckets: tuple[tuple[float, float], ...]
    sum: float | None
    count: float | None


@dataclass
class Exposition:
    """A parsed scrape: samples in order, declared types and help texts, and the lines that were skipped."""

    samples: list[Sample] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)
    malformed: list[tuple[int, str]] = field(default_factory=list)

    def series(self, name: str, labels: Mapping[str, str] | None = None) -> list[Sample]:
        """Samples named exactly `name` whose labels include every pair in `labels`."""
        want = dict(labels or {})
        return [
            s for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in want.items())
        ]

    def values(self, name: str, labels: Mapping[str, str] | None = None) -> list[float]:
        return [s.value for s in self.series(name, labels)]

    def family_of(self, sample_name: str) -> str:
        """The declared family a sample belongs to (`x_bucket` → `x` when `x` is a histogram)."""
        if sample_name in self.types:
            return sample_name
        for family, kind in self.types.items():
            for suffix in _SUFFIXES.get(kind, ()):
                if sample_name == family + suffix:
                    return family
        return sample_name

    def family(self, name: str) -> list[Sample]:
        """Every sample of a family, e.g. a histogram's buckets, sum and count."""
        return [s for s in self.samples if self.family_of(s.name) == name]

    def histogram(self, name: str, labels: Mapping[str, str] | None = None) -> Histogram | None:
        """The histogram series `name` whose labels (besides `le`) include `labels`; None if absent."""
        buckets = sorted(
            (_parse_value(s.labels["le"]), s.value)
            for s in self.series(f"{name}_bucket", labels)
            if "le" in s.labels
        )
        total = self.values(f"{name}_sum", labels)
        count = self.values(f"{name}_count", labels)
        if not buckets and not total and not count:
            return None
        return Histogram(tuple(buckets), total[0] if total else None, count[0] if count else None)


def parse_exposition(text: str, only: Iterable[str] = ()) -> Exposition:
    """Parse exposition text; never raises for bad lines (see `Exposition.malformed`).

    `only`: parse just the samples whose names start with one of these prefixes (comments are always read).
    A scrape needs a handful of series out of thousands of histogram lines; this keeps it cheap on the loop.
    """
    result = Exposition()
    wanted = tuple(only)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or (wanted and not line.startswith(wanted) and not line.startswith("#")):
            continue
        try:
            if line.startswith("#"):
                if _comment(line, result):
                    break
            else:
                result.samples.append(_parse_sample(line))
        except ParseError as err:
            result.malformed.append((number, str(err)))
    return result


def _comment(line: str, result: Exposition) -> bool:
    """Record `# HELP` / `# TYPE`; returns True at OpenMetrics' `# EOF`."""
    parts = line[1:].lstrip().split(None, 2)
    if parts[:1] == ["EOF"]:
        return True
    if len(parts) >= 2 and parts[0] in ("HELP", "TYPE"):
        rest = parts[2] if len(parts) == 3 else ""
        if parts[0] == "TYPE":
            result.types[parts[1]] = rest.strip().lower()
        else:
            result.help[parts[1]] = _unescape_help(rest)
    return False


def _parse_sample(line: str) -> Sample:
    match = _NAME.match(line)
    if match is None:
        raise ParseError(f"bad metric name in {line[:80]!r}")
    name, pos = match.group(), match.end()
    labels: dict[str, str] = {}
    after_name = _skip_spaces(line, pos)
    if line[after_name : after_name + 1] == "{":
        labels, pos = _parse_labels(line, after_name + 1)
    if pos < len(line) and line[pos] not in " \t":
        raise ParseError(f"unexpected {line[pos]!r} after {name!r}")
    rest = line[pos:].split("#", 1)[0].split()
    if not rest or len(rest) > 2:
        raise ParseError(f"expected a value and an optional timestamp after {name!r}")
    value = _parse_value(rest[0])
    stamp = _parse_timestamp(rest[1]) if len(rest) == 2 else None
    return Sample(name, labels, value, stamp)


def _parse_labels(line: str, pos: int) -> tuple[dict[str, str], int]:
    labels: dict[str, str] = {}
    while True:
        pos = _skip_spaces(line, pos)
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL_NAME.match(line, pos)
        if match is None:
            raise ParseError(f"bad label name at column {pos + 1}")
        pos = _skip_spaces(line, match.end())
        if line[pos : pos + 1] != "=":
            raise ParseError(f"expected '=' after label {match.group()!r}")
        pos = _skip_spaces(line, pos + 1)
        if line[pos : pos + 1] != '"':
            raise ParseError(f"expected a quoted value for label {match.group()!r}")
        value, pos = _read_quoted(line, pos + 1)
        labels[match.group()] = value
        pos = _skip_spaces(line, pos)
        if line[pos : pos + 1] == ",":
            pos += 1
        elif line[pos : pos + 1] != "}":
            raise ParseError(f"expected ',' or '}}' at column {pos + 1}")


def _read_quoted(line: str, pos: int) -> tuple[str, int]:
    """Read a label value starting just after its opening quote; returns (value, index after the quote)."""
    out: list[str] = []
    while pos < len(line):
        char = line[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(line):
            nxt = line[pos + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise ParseError("unterminated label value")


def _unescape_help(text: str) -> str:
    return re.sub(r"\\([\\n])", lambda m: "\n" if m.group(1) == "n" else "\\", text)


def _skip_spaces(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def _parse_value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParseError(f"bad value {text!r}") from None


def _parse_timestamp(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return int(float(text) * 1000)  # OpenMetrics writes seconds with a fraction
    except ValueError:
        raise ParseError(f"bad timestamp {text!r}") from None
