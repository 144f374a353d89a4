"""The inference core behind the HTTP layer: admission, validation, answers, batching and metrics.

`Engine.start()` turns a parsed request into a running `Job` (or raises `GenError` as TGI would answer);
`Job.finish()` records TGI's per-request metrics; `Job.close()` releases the concurrency permit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import __version__ as sim_version
from .config import SimConfig
from .faults import Faults
from .generation import Plan, plan_generation, prefill_tokens, reported_seed
from .metrics import Registry
from .requests import GenRequest
from .rules import RuleSet
from .scheduler import Clock, RealClock, Scheduler, Sequence
from .tokenizer import eos_token_for
from .validate import Validated, ValidationError, validate

TGI_VERSION = "3.3.6-dev0"
"""What TGI 3.3.7 reports as its version in /info (and the version label of its metrics): its router's
Cargo package version, which the v3.3.7 tag left at 3.3.6-dev0 (Cargo.toml, workspace.package.version).
"""


class GenError(Exception):
    """A request TGI refuses: HTTP status, message and error_type of its ErrorResponse."""

    def __init__(self, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type

    def body(self) -> dict[str, str]:
        """TGI's ErrorResponse."""
        return {"error": self.message, "error_type": self.error_type}


@dataclass(eq=False)
class Job:
    """An admitted request: its validation, plan and place in the scheduler."""

    engine: Engine
    request: GenRequest
    valid: Validated
    seq: Sequence
    started: float
    seed: int | None
    closed: bool = field(default=False)

    @property
    def plan(self) -> Plan:
        """What this request generates."""
        return self.seq.plan

    async def wait(self) -> None:
        """Until every token is decoded."""
        async for _ in self.seq.tokens():
            pass

    def output_text(self) -> str:
        """The generated text, after the prompt when `return_full_text` asks for it."""
        prefix = self.request.inputs if self.request.params.return_full_text else ""
        return prefix + self.plan.text

    def prefill(self) -> list[dict[str, object]]:
        """The prefill tokens when `decoder_input_details` asks and the launcher enabled them, else []."""
        config = self.engine.config
        if (
            not self.request.params.decoder_input_details
            or not config.prefill_logprobs
            or config.no_prefill_logprobs
        ):
            return []
        answer = self.engine.rules.answer(self.request.match_text, self.engine.config.model_id)
        return prefill_tokens(self.valid.prompt_pieces, answer)

    def timings(self) -> dict[str, float]:
        """TGI's per-request timings in seconds."""
        seq = self.seq
        started = seq.started_at if seq.started_at is not None else seq.queued_at
        finished = seq.finished_at if seq.finished_at is not None else self.engine.clock.now()
        inference = max(finished - started, 0.0)
        return {
            "total": max(self.engine.clock.now() - self.started, 0.0),
            "validation": max(seq.queued_at - self.started, 0.0),
            "queue": max(started - seq.queued_at, 0.0),
            "inference": inference,
            "per_token": inference / max(self.plan.generated_tokens, 1),
        }

    def finish(self) -> dict[str, float]:
        """Record the success metrics; returns the timings."""
        t = self.timings()
        m = self.engine.metrics
        m.inc("tgi_request_success")
        m.observe("tgi_request_duration", t["total"])
        m.observe("tgi_request_validation_duration", t["validation"])
        m.observe("tgi_request_queue_duration", t["queue"])
        m.observe("tgi_request_inference_duration", t["inference"])
        m.observe("tgi_request_mean_time_per_token_duration", t["per_token"])
        m.observe("tgi_request_generated_tokens", self.plan.generated_tokens)
        return t

    def fail(self, err: str) -> None:
        """Count a failure that happened after admission (`generation`, `incomplete`)."""
        self.engine.metrics.inc("tgi_request_failure", err=err)

    def close(self) -> None:
        """Release the permit; drop the sequence from the batch if it did not finish."""
        if self.closed:
            return
        self.closed = True
        if not self.seq.done:
            self.engine.scheduler.cancel(self.seq)
        self.engine.inflight -= 1


class Engine:
    """State shared by all requests of one simulated server."""

    def __init__(self, config: SimConfig, rules: RuleSet, clock: Clock | None = None) -> None:
        self.config = config
        self.rules = rules
        self.clock: Clock = clock or RealClock()
        self.metrics = Registry(config.max_input_tokens, config.max_total_tokens)
        self.faults = Faults(
            config.fault_503_first,
            config.fault_stream_error_every,
            config.crash_after,
            config.fault_oom_after,
        )
        self.scheduler = Scheduler(
            slots=config.slots,
            max_batch_total_tokens=config.max_batch_total_tokens,
            max_batch_prefill_tokens=config.max_batch_prefill_tokens,
            decode_step_ms=config.decode_step_ms,
            prefill_ms_per_token=config.prefill_ms_per_token,
            clock=self.clock,
            on_step=self._on_step,
        )
        self.inflight = 0
        self.eos_text = eos_token_for(config.model_id)
        self._declare_metrics()

    @property
    def fingerprint(self) -> str:
        """The chat `system_fingerprint`: TGI's version and docker label."""
        return f"{TGI_VERSION}-{self.docker_label}"

    @property
    def docker_label(self) -> str:
        """What TGI reports as its docker label."""
        return f"evalclient-sim-{sim_version}"

    def start(self, request: GenRequest, *, stream: bool) -> Job:
        """Admit, validate and schedule a request, or raise GenError (overloaded / validation)."""
        started = self.clock.now()
        self.metrics.inc("tgi_request_count")
        if self.config.log_requests:
            print(f"evalclient-sim: request {json.dumps(request.match_text)}", flush=True)
        if self.inflight >= self.config.max_concurrent_requests:
            self.metrics.inc("tgi_request_failure", err="overloaded")
            raise GenError(429, "Model is overloaded", "overloaded")
        try:
            valid = validate(request, self.config, stream=stream)
        except ValidationError as exc:
            self.metrics.inc("tgi_request_failure", err="validation")
            raise GenError(422, str(exc), "validation") from exc
        self.inflight += 1
        return self._schedule(request, valid, started)

    def _schedule(self, request: GenRequest, valid: Validated, started: float) -> Job:
        params = request.params
        self.metrics.observe("tgi_request_input_length", valid.input_length)
        self.metrics.observe("tgi_request_max_new_tokens", valid.max_new_tokens)
        answer, first_top = self.rules.scripted(request.match_text, self.config.model_id)
        plan = plan_generation(answer, valid.max_new_tokens, params.stop, self.eos_text, first_top)
        seq = Sequence(prompt_tokens=valid.input_length, max_new_tokens=valid.max_new_tokens, plan=plan)
        self.scheduler.submit(seq)
        seed = reported_seed(params.seed, params.sampling, request.inputs)
        return Job(engine=self, request=request, valid=valid, seq=seq, started=started, seed=seed)

    def _on_step(self, method: str, seconds: float, batch: int) -> None:
        self.metrics.inc("tgi_batch_inference_count", method=method)
        self.metrics.inc("tgi_batch_inference_success", method=method)
        self.metrics.observe("tgi_batch_forward_duration", seconds, method=method)

    def _declare_metrics(self) -> None:
        m = self.metrics
        for name in ("tgi_request_count", "tgi_request_success"):
            m.declare_counter(name)
        for err in ("overloaded", "validation", "generation"):
            m.declare_counter("tgi_request_failure", (("err", err),))
        for name in ("tgi_request_duration", "tgi_request_input_length", "tgi_request_generated_tokens"):
            m.declare_histogram(name)
        sched = self.scheduler
        m.gauge("tgi_batch_current_size", lambda: sched.batch_size)
        m.gauge("tgi_batch_current_max_tokens", lambda: sched.reserved_tokens)
        m.gauge("tgi_batch_max_total_tokens", lambda: sched.max_batch_total_tokens)
        m.gauge("tgi_queue_size", lambda: sched.queue_size)
