"""Pure functions: one window's requests, GPU samples and /metrics samples → `PerformanceReport` (DESIGN §5).

Rules: only successful requests count towards latency, tokens and throughput (errors and retries are
counted apart); token sums need the server's count for every successful request, else they are null with
the reason. Multi-GPU readings are combined per sampler tick, and a tick counts only when every GPU gave the
field: utilization and temperature are averaged over GPUs, memory and power summed. Energy is the delta of
NVML's energy counter over the samples in the window, scaled to the window's length (the mean power of that
span); where a GPU has no counter, its mean power × window length. A GPU field missing from the window says
why with the first error of the window's own samples (a GPU that failed mid-run), else the sampler's reason.
Container figures come from the Docker samples in the window; OOM events are counted from the last sample
before the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from evalclient.client.completion import Completion
from evalclient.monitor.container import ContainerSample
from evalclient.monitor.nvml import GpuSample
from evalclient.monitor.report import PerformanceReport, Value
from evalclient.monitor.server_metrics import ServerSample
from evalclient.monitor.stats import finite, maximum, mean, percentile

PERCENTILES = (50, 90, 99)
GPU_REPORT_FIELDS = (
    "gpu_utilization_percent",
    "gpu_memory_used_gb",
    "gpu_memory_peak_gb",
    "gpu_memory_total_gb",
    "gpu_memory_deployment_gb",
    "gpu_memory_deployment_peak_gb",
    "gpu_temperature_c",
    "gpu_temperature_max_c",
    "power_w_mean",
    "energy_j",
)
CONTAINER_REPORT_FIELDS = ("container_cpu_percent", "container_memory_peak_gb", "container_oom_events")


@dataclass(frozen=True)
class GpuSource:
    """GPU samples (any time range), the GPUs sampled, why there may be none, per-field failure reasons."""

    samples: Sequence[GpuSample]
    gpus: Sequence[int]
    reason: str | None = None
    field_reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerSource:
    """Container samples (any time range, in time order) and why there may be none."""

    samples: Sequence[ContainerSample]
    reason: str | None = None


@dataclass(frozen=True)
class ServerSource:
    """/metrics samples (any time range), why there may be none, and why each field may be missing."""

    samples: Sequence[ServerSample]
    reason: str | None = None
    field_reasons: Mapping[str, str] = field(default_factory=dict)


class _Fields:
    """Collects metrics; a None value must come with its reason."""

    def __init__(self) -> None:
        self.metrics: dict[str, Value] = {}
        self.unavailable: dict[str, str] = {}

    def put(self, name: str, value: Value, reason: str) -> None:
        self.metrics[name] = value
        if value is None:
            self.unavailable[name] = reason


def build_report(
    start: float,
    end: float,
    records: Sequence[Completion],
    gpu: GpuSource,
    server: ServerSource,
    container: ContainerSource | None = None,
) -> PerformanceReport:
    """The performance_metrics of the window [start, end] (time.monotonic() seconds)."""
    out = _Fields()
    window_s = max(0.0, end - start)
    out.put("window_s", window_s, "")
    generated = request_metrics(out, records, window_s)
    energy = gpu_metrics(out, [s for s in gpu.samples if start <= s.t <= end], gpu, window_s)
    server_metrics(out, [s for s in server.samples if start <= s.t <= end], server, window_s)
    container_metrics(out, container or ContainerSource([], "no container sampled"), start, end)
    _energy_per_token(out, energy, generated)
    return PerformanceReport(out.metrics, out.unavailable)


def request_metrics(out: _Fields, records: Sequence[Completion], window_s: float) -> int | None:
    """Counts, latencies, token totals and throughputs; returns the generated-token sum (None if unknown)."""
    ok = [r for r in records if r.ok]
    out.put("num_requests", len(records), "")
    out.put("num_errors", len(records) - len(ok), "")
    out.put("num_retries", sum(r.retries for r in records), "")
    none = "no successful requests" if records else "no requests in the window"
    _latency_metrics(out, ok, none)
    return _token_metrics(out, ok, none, window_s)


def _token_metrics(out: _Fields, ok: Sequence[Completion], none: str, window_s: float) -> int | None:
    prompt, prompt_why = _token_sum(ok, lambda r: r.prompt_tokens, "prompt", none)
    completion, completion_why = _token_sum(ok, lambda r: r.completion_tokens, "completion", none)
    no_prompt = none if not ok else "the server reported no prompt tokens"
    out.put("context_length_avg", mean(r.prompt_tokens for r in ok), no_prompt)
    total = prompt + completion if prompt is not None and completion is not None else None
    out.put("total_tokens_processed", total, prompt_why or completion_why)
    no_time = "the window has no duration"
    out.put("throughput_tokens_per_second", _rate(completion, window_s), completion_why or no_time)
    out.put("request_throughput_per_second", _rate(len(ok) or None, window_s), none if not ok else no_time)
    return completion


def _latency_metrics(out: _Fields, ok: Sequence[Completion], none: str) -> None:
    e2e = finite(r.latency_ms for r in ok)
    ttft = finite(r.ttft_ms for r in ok)
    itl = finite(v for r in ok for v in r.itl_ms)
    out.put("avg_latency_ms", mean(e2e), none if not ok else "no latency recorded")
    _percentiles(out, "e2e_latency_ms", e2e, none if not ok else "no latency recorded")
    _percentiles(out, "ttft_ms", ttft, none if not ok else "no streamed request reported a first-token time")
    _percentiles(out, "itl_ms", itl, none if not ok else "no streamed request produced two or more tokens")


def _percentiles(out: _Fields, prefix: str, values: Sequence[float], reason: str) -> None:
    for q in PERCENTILES:
        out.put(f"{prefix}_p{q}", percentile(values, q), reason)


def _token_sum(
    ok: Sequence[Completion], get: Callable[[Completion], int | None], kind: str, none: str
) -> tuple[int | None, str]:
    """(sum, "") when the server counted `kind` tokens for every successful request, else (None, reason)."""
    if not ok:
        return None, none
    counts = [get(r) for r in ok]
    missing = sum(c is None for c in counts)
    if missing:
        return None, f"the server did not count {kind} tokens for {missing} of {len(ok)} successful requests"
    return sum(c for c in counts if c is not None), ""


def _rate(amount: float | None, window_s: float) -> float | None:
    return amount / window_s if amount is not None and window_s > 0 else None


def _ticks(samples: Iterable[GpuSample], gpus: Sequence[int]) -> list[dict[int, GpuSample]]:
    by_t: dict[float, dict[int, GpuSample]] = {}
    for s in samples:
        by_t.setdefault(s.t, {})[s.gpu] = s
    return [{g: by_t[t][g] for g in gpus} for t in sorted(by_t) if all(g in by_t[t] for g in gpus)]


def _complete(ticks: Sequence[dict[int, GpuSample]], name: str) -> list[list[float]]:
    """Per tick, the field's value for every GPU; ticks where any GPU lacks it are dropped."""
    rows = [[getattr(s, name) for s in tick.values()] for tick in ticks]
    return [[float(v) for v in row] for row in rows if row and all(v is not None for v in row)]


def gpu_metrics(out: _Fields, samples: Sequence[GpuSample], gpu: GpuSource, window_s: float) -> float | None:
    """GPU utilization, memory, temperature, power and energy; returns energy in J (None if unknown)."""
    if not samples:
        reason = gpu.reason or f"no GPU sample inside the {window_s:.3f} s window"
        for name in GPU_REPORT_FIELDS:
            out.put(name, None, reason)
        return None
    gpus = list(gpu.gpus) or sorted({s.gpu for s in samples})
    ticks = _ticks(samples, gpus)
    reasons = {**gpu.field_reasons}
    for s in reversed(samples):  # the window's own errors first, the earliest of each field winning
        reasons.update(s.errors)

    def rows(name: str) -> tuple[list[list[float]], str]:
        why = reasons.get(name, f"no complete GPU reading of {name} in the window")
        return _complete(ticks, name), why

    util, why = rows("utilization_percent")
    out.put("gpu_utilization_percent", mean(v for row in util for v in row), why)
    used, why = rows("memory_used_gb")
    out.put("gpu_memory_used_gb", mean(sum(row) for row in used), why)
    out.put("gpu_memory_peak_gb", maximum(sum(row) for row in used), why)
    total, why = rows("memory_total_gb")
    out.put("gpu_memory_total_gb", maximum(sum(row) for row in total), why)
    own, why = rows("deployment_memory_gb")
    out.put("gpu_memory_deployment_gb", mean(sum(row) for row in own), why)
    out.put("gpu_memory_deployment_peak_gb", maximum(sum(row) for row in own), why)
    temp, why = rows("temperature_c")
    out.put("gpu_temperature_c", mean(v for row in temp for v in row), why)
    out.put("gpu_temperature_max_c", maximum(v for row in temp for v in row), why)
    power, why = rows("power_w")
    out.put("power_w_mean", mean(sum(row) for row in power), why)
    energy, why = _energy(samples, gpus, reasons, window_s)
    out.put("energy_j", energy, why)
    return energy


def _energy(
    samples: Sequence[GpuSample], gpus: Sequence[int], reasons: Mapping[str, str], window_s: float
) -> tuple[float | None, str]:
    if window_s <= 0:
        return None, "the window has no duration"
    total = 0.0
    for g in gpus:
        own = [s for s in samples if s.gpu == g]
        joules = _counter_energy(own, window_s)
        if joules is None:
            power = mean(s.power_w for s in own)
            joules = None if power is None else power * window_s
        if joules is None:
            detail = "; ".join(f"{k}: {reasons[k]}" for k in ("energy_j", "power_w") if k in reasons)
            return None, f"GPU {g} gave no energy counter or power reading" + (
                f" ({detail})" if detail else ""
            )
        total += joules
    return total, ""


def _counter_energy(samples: Sequence[GpuSample], window_s: float) -> float | None:
    """Counter delta over the samples' span, scaled to the window; None without two readings or on a reset."""
    series = sorted((s.t, s.energy_j) for s in samples if s.energy_j is not None)
    if len(series) < 2 or series[-1][0] <= series[0][0]:
        return None
    if any(b[1] < a[1] for a, b in pairwise(series)):
        return None
    (t0, e0), (t1, e1) = series[0], series[-1]
    return (e1 - e0) * (window_s / (t1 - t0))  # exactly the delta when the samples span the window


def server_metrics(
    out: _Fields, samples: Sequence[ServerSample], server: ServerSource, window_s: float
) -> None:
    """Mean running batch and mean KV-cache fraction from the server's /metrics samples in the window."""
    if not samples:
        reason = server.reason or f"no /metrics sample inside the {window_s:.3f} s window"
        out.put("inference_batch_size", None, reason)
        out.put("memory_efficiency", None, reason)
        return
    reasons = server.field_reasons
    batch = mean(s.running_batch for s in samples)
    out.put(
        "inference_batch_size", batch, reasons.get("running_batch", "server exposes no running-batch metric")
    )
    kv = mean(s.kv_cache_fraction for s in samples)
    out.put("memory_efficiency", kv, reasons.get("kv_cache_fraction", "server exposes no KV-cache metric"))


def container_metrics(out: _Fields, container: ContainerSource, start: float, end: float) -> None:
    """Mean CPU %, peak memory and OOM events of the server's container over the window."""
    inside = [s for s in container.samples if start <= s.t <= end]
    if not inside:
        reason = container.reason or "no container sample inside the window"
        for name in CONTAINER_REPORT_FIELDS:
            out.put(name, None, reason)
        return
    before = [s.oom_events for s in container.samples if s.t < start]
    cpu = mean(s.cpu_percent for s in inside)
    out.put("container_cpu_percent", cpu, "Docker gave no CPU figure (the first look has no baseline)")
    peak = maximum(s.memory_used_gb for s in inside)
    out.put("container_memory_peak_gb", peak, "Docker gave no memory figure (the container had stopped)")
    out.put("container_oom_events", inside[-1].oom_events - (before[-1] if before else 0), "")


def _energy_per_token(out: _Fields, energy: float | None, generated: int | None) -> None:
    if energy is None:
        reason = out.unavailable.get("energy_j", "energy unknown")
    elif generated is None:
        reason = out.unavailable.get("throughput_tokens_per_second", "generated tokens unknown")
    else:
        reason = "no tokens were generated"
    value = energy / generated if energy is not None and generated else None
    out.put("energy_j_per_generated_token", value, reason)
