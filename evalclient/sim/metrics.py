"""Prometheus text exposition of TGI's metrics (names, types and buckets as TGI's router sets them)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]

DURATION_BUCKETS: tuple[float, ...] = tuple(0.0001 * 1.5**k for k in range(1, 36))

HELP = {
    "tgi_request_count": "Total number of requests",
    "tgi_request_success": "Number of successful requests",
    "tgi_request_failure": "Number of failed requests",
    "tgi_request_duration": "Request duration",
    "tgi_request_validation_duration": "Request validation duration",
    "tgi_request_queue_duration": "Request queue duration",
    "tgi_request_inference_duration": "Request inference duration",
    "tgi_request_mean_time_per_token_duration": "Mean time per token per request",
    "tgi_request_input_length": "Input token length per request",
    "tgi_request_generated_tokens": "Generated tokens per request",
    "tgi_request_max_new_tokens": "Maximum new tokens per request",
    "tgi_batch_current_size": "Current batch size",
    "tgi_batch_current_max_tokens": "Maximum tokens for the current batch",
    "tgi_batch_max_total_tokens": "Maximum total tokens of a batch (the KV-cache budget set at warm-up)",
    "tgi_queue_size": "Current queue size",
    "tgi_batch_inference_count": "Inference calls per method (prefill or decode)",
    "tgi_batch_inference_success": "Number of successful inference calls per method (prefill or decode)",
    "tgi_batch_forward_duration": "Batch forward duration per method (prefill or decode)",
}


def length_buckets(limit: int) -> tuple[float, ...]:
    """TGI's 100 linear buckets up to a token limit."""
    return tuple(limit / 100.0 * (x + 1) for x in range(100))


@dataclass
class Histogram:
    """Cumulative buckets, sum and count."""

    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        """Record one observation."""
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        index = bisect.bisect_left(self.buckets, value)
        for i in range(index, len(self.buckets)):
            self.counts[i] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: Labels) -> Iterable[str]:
        """The `_bucket`, `_sum` and `_count` samples."""
        counts = self.counts or [0] * len(self.buckets)
        for bound, n in zip(self.buckets, counts, strict=True):
            yield f"{name}_bucket{_labels((*labels, ('le', _num(bound))))} {n}"
        yield f"{name}_bucket{_labels((*labels, ('le', '+Inf')))} {self.count}"
        yield f"{name}_sum{_labels(labels)} {_num(self.total)}"
        yield f"{name}_count{_labels(labels)} {self.count}"


class Registry:
    """Counters and histograms recorded by the server, gauges read at scrape time."""

    def __init__(self, max_input_tokens: int, max_total_tokens: int) -> None:
        self._counters: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, Histogram]] = {}
        self._gauges: dict[str, Callable[[], float]] = {}
        self._buckets: dict[str, tuple[float, ...]] = {
            "tgi_request_input_length": length_buckets(max_input_tokens),
            "tgi_request_generated_tokens": length_buckets(max_total_tokens),
            "tgi_request_max_new_tokens": length_buckets(max_total_tokens),
        }

    def declare_counter(self, name: str, labels: Labels = ()) -> None:
        """Show a counter at 0 before anything is counted."""
        self._counters.setdefault(name, {}).setdefault(labels, 0.0)

    def declare_histogram(self, name: str) -> None:
        """Show an empty histogram before anything is observed."""
        series = self._histograms.setdefault(name, {})
        series.setdefault((), Histogram(self._buckets.get(name, DURATION_BUCKETS)))

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Add to a counter."""
        series = self._counters.setdefault(name, {})
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0.0) + value

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record a histogram observation."""
        series = self._histograms.setdefault(name, {})
        key = tuple(sorted(labels.items()))
        if key not in series:
            series[key] = Histogram(self._buckets.get(name, DURATION_BUCKETS))
        series[key].observe(value)

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        """Register a gauge whose value is read at each scrape."""
        self._gauges[name] = read

    def counter_value(self, name: str, **labels: str) -> float:
        """A counter's current value (0 when never counted)."""
        return self._counters.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        """The whole exposition, text format 0.0.4."""
        out: list[str] = []
        for name, series in sorted(self._counters.items()):
            out += _header(name, "counter")
            out += [f"{name}{_labels(key)} {_num(value)}" for key, value in sorted(series.items())]
        for name, read in sorted(self._gauges.items()):
            out += [*_header(name, "gauge"), f"{name} {_num(read())}"]
        for name, hists in sorted(self._histograms.items()):
            out += _header(name, "histogram")
            for key, hist in sorted(hists.items()):
                out += hist.lines(name, key)
        return "\n".join(out) + "\n"


def _header(name: str, kind: str) -> list[str]:
    return [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} {kind}"]


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
