"""The plan: models × presets × datasets grouped into deployments (one container per model × preset)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from evalclient.config import Config, EngineChoice, ModelSpec, Preset
from evalclient.engines.base import LaunchSpec, Ports, RequestNeeds
from evalclient.engines.serving import Serving, serving_of
from evalclient.errors import UsageError

if TYPE_CHECKING:
    from evalclient.tasks.base import TaskOptions, TaskSpec

DEFAULT_SAMPLES = 150
SEED_MINUTES_PER_COMBINATION = 1.5  # the seed plan's own estimate (6 h for 216 combinations)
_BYTES_PER_PARAM = {
    None: 2.0,
    "fp8": 1.0,
    "eetq": 1.0,
    "awq": 0.5,
    "gptq": 0.5,
    "marlin": 0.5,
    "bitsandbytes": 1.0,
    "bitsandbytes-nf4": 0.5,
}


@dataclass(frozen=True)
class DatasetJob:
    """One dataset of a deployment: how many samples it gets (None: the whole split) and, once the plan is
    built for an engine, the task as it will run there (mode, shots, config)."""

    name: str
    samples: int | None
    note: str | None = None
    """Why the count is not the sweep's cap (an explicit --samples above it), for the plan and the log."""
    task: TaskSpec | None = None

    @property
    def label(self) -> str:
        return "all" if self.samples is None else str(self.samples)

    @property
    def spec(self) -> TaskSpec:
        """The configured task (built with the plan)."""
        if self.task is None:
            raise RuntimeError(f"{self.name}: the job was not configured for an engine")
        return self.task

    @property
    def title(self) -> str:
        """The dataset with its options, as the plan shows it: `mmlu (loglikelihood, 5-shot)`."""
        task = self.task
        if task is None:
            return self.name
        extras = [task.mode or "", f"{task.num_fewshot}-shot" if task.num_fewshot else ""]
        if task.source.config and task.name == "codet5":
            extras.append(task.source.config)
        shown = ", ".join(e for e in extras if e)
        return f"{self.name} ({shown})" if shown else self.name


@dataclass(frozen=True)
class DeploymentPlan:
    """One container: a model served with a preset by an engine image, and the datasets it answers."""

    model: ModelSpec
    preset: Preset
    datasets: tuple[DatasetJob, ...]
    serving: Serving

    @property
    def key(self) -> str:
        return f"{self.model.key}_{self.preset.name}"

    @property
    def engine(self) -> str:
        return self.serving.engine

    @property
    def image(self) -> str:
        return self.serving.image

    @property
    def needs(self) -> RequestNeeds:
        """The most stop sequences any of its datasets' requests send (the engine is launched to take
        them)."""
        samplings = [job.task.sampling for job in self.datasets if job.task is not None]
        stops = [len(sampling.stop) for sampling in samplings if sampling is not None]
        return RequestNeeds(stop_sequences=max(stops, default=0))

    def job(self, name: str) -> DatasetJob:
        return next(job for job in self.datasets if job.name == name)

    def launch_spec(self, ports: Ports, shards: int = 1, needs: RequestNeeds | None = None) -> LaunchSpec:
        """The container that serves this deployment as planned on `ports`, launched to take the requests
        its datasets send (or `needs`)."""
        from evalclient.engines.registry import get_adapter

        return get_adapter(self.engine).launch_spec(
            self.model,
            self.preset,
            port=ports.http,
            ports=ports,
            image=self.image,
            shards=shards,
            needs=self.needs if needs is None else needs,
            serving=self.serving,
        )

    def weights_gb(self) -> float:
        """Approximate weight memory (GB) at the precision the engine really serves (unquantized where the
        quantization is not applied on its serving path)."""
        return self.model.params_b * _BYTES_PER_PARAM.get(self.serving.preset.quantize, 2.0)


@dataclass(frozen=True)
class Plan:
    """Everything one run will do, in order."""

    engine: str
    image: str | None
    deployments: tuple[DeploymentPlan, ...]

    @property
    def started(self) -> tuple[DeploymentPlan, ...]:
        """The deployments that will be started: not refused by the capability table."""
        return tuple(d for d in self.deployments if d.serving.starts)

    @property
    def images(self) -> tuple[tuple[str, str], ...]:
        """(engine, image) of every deployment that starts, once each, in plan order."""
        return tuple(dict.fromkeys((d.engine, d.image) for d in self.started))

    @property
    def combinations(self) -> int:
        return sum(len(d.datasets) for d in self.deployments)

    @property
    def requests(self) -> int | None:
        """Samples to ask in all, None when a dataset runs its whole split (size known once loaded)."""
        counts = [job.samples for d in self.deployments for job in d.datasets]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

    def notes(self) -> list[str]:
        """The datasets' notes (sample counts, modes chosen for an engine), each once."""
        notes = (job.note for deployment in self.deployments for job in deployment.datasets)
        return list(dict.fromkeys(note for note in notes if note))

    def estimated_minutes(self) -> float:
        return self.combinations * SEED_MINUTES_PER_COMBINATION


def samples_for(dataset: str, requested: int | str | None, caps: Mapping[str, int]) -> DatasetJob:
    """The dataset's cap from presets/sweep.yaml when nothing was requested; an explicit count as asked,
    noted when above the cap; "all" for the whole split. A dataset the sweep does not cap gets 150."""
    cap = caps.get(dataset)
    if requested is None:
        if cap is None:
            note = f"{dataset}: no cap in sweep.yaml; {DEFAULT_SAMPLES} samples"
            return DatasetJob(dataset, DEFAULT_SAMPLES, note)
        return DatasetJob(dataset, cap)
    if requested == "all":
        return DatasetJob(dataset, None, f"{dataset}: the whole split (--samples all)")
    count = int(requested)
    if cap is not None and count > cap:
        return DatasetJob(dataset, count, f"{dataset}: --samples {count} is above the sweep's cap of {cap}")
    return DatasetJob(dataset, count)


def build_plan(
    config: Config,
    *,
    models: Sequence[str],
    presets: Sequence[str],
    datasets: Sequence[str],
    samples: int | str | None,
    engine: str,
    image: str | None,
    mc_mode: str = "auto",
    routes: Mapping[str, EngineChoice] | None = None,
    auto_route: bool = True,
    endpoint: str | None = None,
) -> Plan:
    """Deployments in model-major order, each with every selected dataset (selectors may carry options:
    `mmlu:0shot`), each served as the capability table says by the engine image that serves its model:
    `routes` (sweep.yaml's engine.models) first, else `engine`/`image`, else, with `auto_route` where that
    pinned image cannot start the model, another pinned image of the same engine that can. With `endpoint`
    (a server already running) the table's verdicts are only expected: the server is used as it runs."""
    from evalclient.engines import get_adapter

    parsed = [_parse(selector) for selector in datasets]
    names = [name for name, _ in parsed]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise UsageError(f"{twice} is selected twice", "run one variant of a dataset per results folder")
    jobs_for: dict[tuple[str, int | None], tuple[DatasetJob, ...]] = {}
    deployments = []
    for m in models:
        model = config.model(m)
        for p in presets:
            serving = serve(
                model,
                config.preset(p),
                engine,
                image or get_adapter(engine).default_image,
                routes=routes or {},
                auto_route=auto_route,
            )
            if endpoint is not None:
                serving = _as_running(serving, endpoint)
            caps = serving.capabilities
            calls = None if caps is None else caps.limits.tool_calls_per_turn
            key = (serving.engine, calls)
            if key not in jobs_for:
                jobs_for[key] = _jobs(config, parsed, samples, serving.engine, calls, mc_mode)
            deployments.append(DeploymentPlan(model, config.preset(p), jobs_for[key], serving))
    return Plan(engine=engine, image=image, deployments=tuple(deployments))


def routes_for(config: Config, engine: str, image: str | None) -> Mapping[str, EngineChoice]:
    """sweep.yaml's per-model engines, which apply while a run keeps the sweep's engine and no other image
    was asked for."""
    return config.sweep.engine.models if engine == config.sweep.engine.kind and not image else {}


def serve(
    model: ModelSpec,
    preset: Preset,
    engine: str,
    image: str,
    *,
    routes: Mapping[str, EngineChoice],
    auto_route: bool,
) -> Serving:
    """How `model` is served: by its route where it has one, else by `image`; where that pinned image cannot
    start it and `auto_route`, by the first pinned image of the engine that can."""
    from evalclient.engines import get_adapter
    from evalclient.engines.pins import pins_of

    choice = routes.get(model.key)
    if choice is not None:
        routed = choice.image or get_adapter(choice.kind).default_image
        why = f"sweep.yaml engine.models routes {model.key} to {choice.kind} ({routed})"
        return serving_of(model, preset, choice.kind, routed, route=why)
    serving = serving_of(model, preset, engine, image)
    if serving.refusal is None or serving.assumed or not auto_route:
        return serving
    for pin in pins_of(engine):
        other = serving_of(model, preset, engine, pin.image)
        if pin.image != image and other.refusal is None:
            why = f"{serving.refusal}; served by {pin.image} instead, the pinned {engine} image that can"
            return replace(other, route=why)
    return serving


def _as_running(serving: Serving, endpoint: str) -> Serving:
    """A server already running at `endpoint`: what the table says of its engine is expected, not enforced."""
    refusal = serving.refusal and f"{serving.refusal}; the server at {endpoint} is used as it runs"
    return replace(serving, assumed=True, refusal=refusal)


def _parse(selector: str) -> tuple[str, TaskOptions]:
    from evalclient.tasks.options import parse_selector

    return parse_selector(selector)


def _jobs(
    config: Config,
    parsed: Sequence[tuple[str, TaskOptions]],
    samples: int | str | None,
    engine: str,
    tool_calls_per_turn: int | None,
    mc_mode: str,
) -> tuple[DatasetJob, ...]:
    """The datasets as they run on `engine` (its request kinds, the tool calls it returns per turn)."""
    from evalclient.engines import get_adapter
    from evalclient.tasks.options import configured_for_engine

    kinds = get_adapter(engine).request_kinds
    jobs = []
    for name, options in parsed:
        task, note = configured_for_engine(
            name,
            options,
            engine=engine,
            engine_kinds=kinds,
            tool_calls_per_turn=tool_calls_per_turn,
            mc_mode=mc_mode,
        )
        job = replace(samples_for(name, samples, config.sweep.datasets), task=task)
        if note is not None:
            job = replace(job, note=f"{job.note}; {note}" if job.note else note)
        jobs.append(job)
    return tuple(jobs)
