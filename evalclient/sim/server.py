"""The HTTP face of the simulator: TGI's routes on aiohttp (only APIs that aiohttp 3.8 has).

Routes: GET /health, /info, /metrics, /v1/models; POST /generate, /generate_stream, /v1/chat/completions
and `/` (TGI's compat route). As in TGI, errors of a streamed request that are found after the stream
began (overloaded, validation, generation) arrive as an SSE error event after HTTP 200.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from .config import SimConfig
from .engine import TGI_VERSION, Engine, GenError, Job
from .requests import BodyError, ChatRequest, GenRequest, parse_chat, parse_generate, read_json
from .responses import chat_completion, details_json, error_body, tool_call_message
from .rules import RuleSet
from .scheduler import Clock
from .streams import ChatStream, TgiStream
from .tgi_models import TEMPLATE_NOT_FOUND, has_chat_template

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


class SimServer:
    """One simulated TGI server; `app` is its aiohttp application."""

    def __init__(self, config: SimConfig, rules: RuleSet | None = None, clock: Clock | None = None) -> None:
        self.config = config
        self.engine = Engine(config, rules or RuleSet(), clock)
        self.app = web.Application(client_max_size=config.payload_limit)
        self.app.cleanup_ctx.append(self._scheduler_task)
        self.app.router.add_get("/health", self.health)
        self.app.router.add_get("/info", self.info)
        self.app.router.add_get("/metrics", self.metrics)
        self.app.router.add_get("/v1/models", self.models)
        self.app.router.add_post("/generate", self._generation(self.generate))
        self.app.router.add_post("/generate_stream", self._generation(self.generate_stream))
        self.app.router.add_post("/v1/chat/completions", self._generation(self.chat))
        self.app.router.add_post("/", self._generation(self.compat))

    @property
    def crashed(self) -> asyncio.Event:
        """Set when `--crash-after` requests have been answered."""
        return self.engine.faults.crashed

    async def _scheduler_task(self, app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(self.engine.scheduler.run())
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def _generation(self, handler: Handler) -> Handler:
        """Wrap a generation route: the 503 fault, body errors, and the crash counter."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                if self.engine.faults.arrive():
                    return unavailable(self.config.fault_503_first)
                return await handler(request)
            except BodyError as exc:
                return web.Response(status=exc.status, text=exc.text)
            finally:
                self.engine.faults.depart()

        return wrapped

    async def health(self, request: web.Request) -> web.Response:
        """200 with an empty body: the simulator only binds its port once it is ready."""
        return web.Response(status=200)

    async def info(self, request: web.Request) -> web.Response:
        """TGI's Info plus a `simulator` object with the latency model."""
        return web.json_response(info_json(self.config, self.engine))

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text exposition."""
        return web.Response(text=self.engine.metrics.render(), content_type="text/plain")

    async def models(self, request: web.Request) -> web.Response:
        """OpenAI's model list with the one served model."""
        model = {
            "id": self.config.model_id,
            "object": "model",
            "created": 0,
            "owned_by": self.config.model_id,
        }
        return web.json_response({"object": "list", "data": [model]})

    async def compat(self, request: web.Request) -> web.StreamResponse:
        """TGI's `/`: generate_stream when `stream` is true, else /generate wrapped in a list."""
        gen, stream = parse_generate(read_json(await request.read()))
        if stream:
            return await self._stream_tgi(request, gen)
        return await self._generate(gen, wrap_in_list=True)

    async def generate(self, request: web.Request) -> web.StreamResponse:
        """POST /generate."""
        gen, _ = parse_generate(read_json(await request.read()))
        return await self._generate(gen, wrap_in_list=False)

    async def generate_stream(self, request: web.Request) -> web.StreamResponse:
        """POST /generate_stream."""
        gen, _ = parse_generate(read_json(await request.read()))
        return await self._stream_tgi(request, gen)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/chat/completions, plain or streamed; 422 where TGI finds no chat template."""
        chat = parse_chat(read_json(await request.read()))
        if self.config.tgi and not has_chat_template(self.config.model_id):
            return web.json_response(error_body(TEMPLATE_NOT_FOUND, "template_error"), status=422)
        if chat.stream:
            return await ChatStream(self.engine, chat, self._model_name(chat)).run(request)
        return await self._chat_plain(chat)

    async def _generate(self, gen: GenRequest, *, wrap_in_list: bool) -> web.Response:
        try:
            job = self.engine.start(gen, stream=False)
        except GenError as exc:
            return web.json_response(exc.body(), status=exc.status)
        try:
            await job.wait()
            timings = job.finish()
        finally:
            job.close()
        body: dict[str, Any] = {"generated_text": job.output_text()}
        params = gen.params
        if params.details or params.decoder_input_details:
            body["details"] = details_json(job.plan, job.seed, job.prefill())
        headers = timing_headers(job, timings)
        return web.json_response([body] if wrap_in_list else body, headers=headers)

    async def _stream_tgi(self, request: web.Request, gen: GenRequest) -> web.StreamResponse:
        return await TgiStream(self.engine, gen).run(request)

    async def _chat_plain(self, chat: ChatRequest) -> web.Response:
        try:
            job = self.engine.start(chat.gen, stream=False)
        except GenError as exc:
            return web.json_response(exc.body(), status=exc.status)
        try:
            await job.wait()
            timings = job.finish()
        finally:
            job.close()
        message = tool_call_message(job.plan.text, self.config.tgi) if chat.tools else None
        if message is None:
            message = {"role": "assistant", "content": job.plan.text}
        body = chat_completion(
            model=self._model_name(chat),
            fingerprint=self.engine.fingerprint,
            message=message,
            plan=job.plan,
            prompt_tokens=job.valid.input_length,
            logprobs=chat.logprobs,
            top_n=chat.gen.params.top_n_tokens,
        )
        return web.json_response(body, headers=timing_headers(job, timings))

    def _model_name(self, chat: ChatRequest) -> str:
        if chat.model in (None, "", "tgi"):
            return self.config.model_id
        return str(chat.model)


def unavailable(first: int) -> web.Response:
    """The injected 503."""
    body = error_body(
        f"Service unavailable (simulated fault: the first {first} requests fail)", "unavailable"
    )
    return web.json_response(body, status=503)


def timing_headers(job: Job, timings: dict[str, float]) -> dict[str, str]:
    """TGI's x-* response headers of a finished request."""
    ms = {k: str(int(v * 1000)) for k, v in timings.items()}
    return {
        "x-compute-type": "gpu+optimized",
        "x-compute-time": repr(timings["total"]),
        "x-compute-characters": str(len(job.request.inputs)),
        "x-total-time": ms["total"],
        "x-validation-time": ms["validation"],
        "x-queue-time": ms["queue"],
        "x-inference-time": ms["inference"],
        "x-time-per-token": ms["per_token"],
        "x-prompt-tokens": str(job.valid.input_length),
        "x-generated-tokens": str(job.plan.generated_tokens),
    }


def info_json(config: SimConfig, engine: Engine) -> dict[str, Any]:
    """TGI's Info fields (with the older model_dtype / model_device_type too) and `simulator`."""
    revision = config.revision or ""
    return {
        "model_id": config.model_id,
        "model_sha": revision if _SHA_RE.match(revision) else None,
        "model_dtype": f"torch.{config.dtype or 'bfloat16'}",
        "model_device_type": "cuda",
        "model_pipeline_tag": "text-generation",
        "max_concurrent_requests": config.max_concurrent_requests,
        "max_best_of": config.max_best_of,
        "max_stop_sequences": config.max_stop_sequences,
        "max_input_tokens": config.max_input_tokens,
        "max_total_tokens": config.max_total_tokens,
        "validation_workers": config.validation_workers,
        "max_client_batch_size": config.max_client_batch_size,
        "router": "text-generation-router",
        "version": TGI_VERSION,
        "sha": None,
        "docker_label": engine.docker_label,
        "simulator": simulator_json(config, engine),
    }


def simulator_json(config: SimConfig, engine: Engine) -> dict[str, Any]:
    """The latency model, limits, rules and faults of this simulator."""
    return {
        "profile": config.profile,
        "slots": config.slots,
        "decode_step_ms": config.decode_step_ms,
        "prefill_ms_per_token": config.prefill_ms_per_token,
        "max_tokens_per_second": config.max_tokens_per_second,
        "max_batch_total_tokens": config.max_batch_total_tokens,
        "max_batch_prefill_tokens": config.max_batch_prefill_tokens,
        "rules_file": engine.rules.source,
        "rules": len(engine.rules.rules),
        "faults": engine.faults.describe(),
        "launcher_args": dict(config.launcher_args),
    }
