"""The inference server's own /metrics: per-engine metric names and an async scraper on a pooled session.

Each scrape becomes one `ServerSample` (running batch, queue, KV-cache use, token counters). KV-cache use is a
fraction in [0, 1]: vLLM (`vllm:kv_cache_usage_perc`, before 0.12 `vllm:gpu_cache_usage_perc`) and SGLang
(`sglang:token_usage`) report one; TGI reports the tokens reserved by the running batch
(`tgi_batch_current_max_tokens`), divided here by its KV budget: the `tgi_batch_max_total_tokens` gauge in
the same scrape where the server exports it, else the budget the deployment was given (its startup log,
/info or the preset). A failed scrape is logged and counted, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from evalclient.monitor.prometheus import Exposition, parse_exposition
from evalclient.monitor.samplelog import SampleLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerMetricNames:
    """Which /metrics series mean what for one engine; each field lists accepted names, first found wins.

    `kv_cache_fraction` names a 0–1 gauge; `kv_cache_tokens` names a token count to divide by the KV budget
    (TGI), which `kv_budget_tokens` names where the server exports it. Token counters are cumulative (a
    counter, or a histogram's `_sum`).
    """

    engine: str
    running_batch: tuple[str, ...]
    queue_size: tuple[str, ...] = ()
    kv_cache_fraction: tuple[str, ...] = ()
    kv_cache_tokens: tuple[str, ...] = ()
    kv_budget_tokens: tuple[str, ...] = ()
    prompt_tokens: tuple[str, ...] = ()
    generation_tokens: tuple[str, ...] = ()

    def all_names(self) -> tuple[str, ...]:
        """Every series name listed, e.g. to pre-filter a scrape."""
        return (
            self.running_batch
            + self.queue_size
            + self.kv_cache_fraction
            + self.kv_cache_tokens
            + self.kv_budget_tokens
            + self.prompt_tokens
            + self.generation_tokens
        )


@dataclass(frozen=True, slots=True)
class ServerSample:
    """One successful scrape at `t` (`time.monotonic()`); a field is None when the server lacks it."""

    t: float
    running_batch: float | None
    queue_size: float | None
    kv_cache_fraction: float | None
    kv_cache_tokens: float | None
    prompt_tokens_total: float | None
    generation_tokens_total: float | None
    kv_budget_tokens: float | None = None


def _pick(exposition: Exposition, names: Sequence[str], *, mean: bool = False) -> float | None:
    """Sum (or mean) over all label sets of the first name present; NaN readings are ignored."""
    for name in names:
        values = [v for v in exposition.values(name) if not math.isnan(v)]
        if values:
            return sum(values) / len(values) if mean else sum(values)
    return None


def sample_from_exposition(
    t: float, exposition: Exposition, names: ServerMetricNames, max_batch_total_tokens: int | None
) -> ServerSample:
    """Read one scrape into a `ServerSample` (counts summed over label sets, fractions averaged)."""
    tokens = _pick(exposition, names.kv_cache_tokens)
    fraction = _pick(exposition, names.kv_cache_fraction, mean=True)
    budget = _pick(exposition, names.kv_budget_tokens) or max_batch_total_tokens or None
    if fraction is None and tokens is not None and budget:
        fraction = tokens / budget
    return ServerSample(
        t=t,
        running_batch=_pick(exposition, names.running_batch),
        queue_size=_pick(exposition, names.queue_size),
        kv_cache_fraction=fraction,
        kv_cache_tokens=tokens,
        prompt_tokens_total=_pick(exposition, names.prompt_tokens),
        generation_tokens_total=_pick(exposition, names.generation_tokens),
        kv_budget_tokens=None if budget is None else float(budget),
    )


class ServerMetricsScraper:
    """Scrapes `url` every `interval_s` on the caller's session into timestamped `ServerSample`s."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        names: ServerMetricNames,
        *,
        interval_s: float = 0.5,
        max_batch_total_tokens: int | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.session = session
        self.url = url
        self.names = names
        self.interval_s = interval_s
        self.max_batch_total_tokens = max_batch_total_tokens
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.samples: SampleLog[ServerSample] = SampleLog()
        self.scrapes = 0
        self.failures = 0
        self.last_error: str | None = None
        self._warned_malformed = False
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> None:
        """Start the scrape loop as a task on the running loop (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"evalclient-metrics-scraper {self.url}")

    async def stop(self) -> None:
        """Cancel the loop and wait for it; re-raises only if the caller itself is being cancelled."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def scrape_once(self) -> ServerSample | None:
        """One scrape; returns None (after logging and counting) when it fails."""
        self.scrapes += 1
        try:
            async with self.session.get(self.url, timeout=self.timeout) as response:
                if response.status != 200:
                    self._failed(f"HTTP {response.status} {response.reason or ''}".strip())
                    return None
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            self._failed(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)
            return None
        return self._record(text)

    def _record(self, text: str) -> ServerSample:
        exposition = parse_exposition(text, only=self.names.all_names())
        if exposition.malformed and not self._warned_malformed:
            self._warned_malformed = True
            line, why = exposition.malformed[0]
            log.warning(
                "%s: %d malformed line(s), first at %d: %s", self.url, len(exposition.malformed), line, why
            )
        if self._failing:
            log.info("scrape of %s recovered", self.url)
            self._failing = False
        sample = sample_from_exposition(time.monotonic(), exposition, self.names, self.max_batch_total_tokens)
        self.samples.append(sample)
        return sample

    def _failed(self, why: str) -> None:
        self.failures += 1
        level = logging.DEBUG if self._failing else logging.WARNING
        log.log(level, "scrape of %s failed (%d so far): %s", self.url, self.failures, why)
        self._failing = True
        self.last_error = why

    def field_reasons(self) -> dict[str, str]:
        """Why each server field could be missing, for the report's `unavailable` entries."""
        n = self.names
        return {
            "running_batch": _absent("running-batch", n.running_batch),
            "queue_size": _absent("queue-size", n.queue_size),
            "kv_cache_fraction": self._kv_reason(),
            "prompt_tokens_total": _absent("prompt-token", n.prompt_tokens),
            "generation_tokens_total": _absent("generated-token", n.generation_tokens),
        }

    def _kv_reason(self) -> str:
        n = self.names
        if n.kv_cache_tokens and not n.kv_cache_fraction and not self.max_batch_total_tokens:
            tokens = ", ".join(n.kv_cache_tokens)
            exported = f"it exports no {' or '.join(n.kv_budget_tokens)}, and " if n.kv_budget_tokens else ""
            return (
                f"{n.engine} reports KV-cache use in tokens ({tokens}); {exported}its KV budget"
                " (max batch total tokens) is unknown"
            )
        return _absent("KV-cache", n.kv_cache_fraction + n.kv_cache_tokens)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        ticks = 0
        while True:
            try:
                await self.scrape_once()
            except Exception as err:  # never fatal: a monitor must not take the evaluation down
                log.exception("scrape of %s raised", self.url)
                self._failed(f"{type(err).__name__}: {err}")
            ticks = max(ticks + 1, int((loop.time() - start) / self.interval_s) + 1)
            await asyncio.sleep(max(0.0, start + ticks * self.interval_s - loop.time()))


def _absent(what: str, names: Sequence[str]) -> str:
    if not names:
        return f"server exposes no {what} metric"
    return f"server exposes no {what} metric (looked for {', '.join(names)})"
