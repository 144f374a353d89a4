"""What a results tree holds, read once for every report: the run's plan (manifest.json), each combination's
record, its per-sample verdicts and timings (predictions), and its repeated answers (the noise floor).

Every combination the plan lists or a record exists for is here with a status: `complete`, `partial` and
`failed` from its record (or from the manifest when the run recorded a failure without one), `missing` when
the run stopped before it, `unreadable` when its metrics file cannot be read. Nothing missing is a zero.

A run killed outright (`kill -9`, out of memory) leaves its manifest saying `running`. The run held the
folder's lock (`evalclient/results/lock.py`: an flock, which goes with its process however it ends, and a
file naming the run and its pid) for its whole life, so the tree reads it as interrupted when the lock file
names another run, when the pid it names is no process, or when the lock is free (a pid reused by another
process holds no lock). Without a lock file to read it stays `running`. The pid is the run's host's: read
the tree on that host.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalclient.errors import ResultsError
from evalclient.results.manifest import Manifest, read_manifest
from evalclient.results.organizer import repeats_file
from evalclient.results.prediction import PredictionRow, answer_of
from evalclient.results.record import CombinationRecord, load_record

Key = tuple[str, str, str]


@dataclass(frozen=True)
class SampleRow:
    """One sample of a combination, as its predictions file stores it."""

    id: str
    answered: bool
    verdict: dict[str, Any]
    answer: Any
    """What the model answered: the response text, or the chosen choice for log-likelihood tasks."""
    ttft_ms: float | None
    output_tokens: int | None


@dataclass(frozen=True)
class RepeatRow:
    """One sample asked twice on the same deployment: first in the sweep, again at another concurrency."""

    id: str
    first_answer: Any
    second_answer: Any
    first_verdict: dict[str, Any]
    second_verdict: dict[str, Any]
    concurrency: int | None


@dataclass
class Combination:
    """One model × preset × dataset of the tree."""

    model: str
    preset: str
    dataset: str
    status: str
    record: CombinationRecord | None = None
    reason: str | None = None
    samples: list[SampleRow] | None = None
    """None when the predictions file is absent or unreadable (the reason is in `notes`)."""
    repeats: list[RepeatRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return self.model, self.preset, self.dataset

    @property
    def label(self) -> str:
        return f"{self.model}/{self.preset}/{self.dataset}"


@dataclass
class ResultsTree:
    """Everything the reports read from one results folder."""

    base_dir: Path
    manifest: Manifest | None
    combinations: dict[Key, Combination]
    process_gone: bool = False
    """The manifest says `running`, but the run's process has ended."""

    @property
    def run_status(self) -> str | None:
        """The manifest's status; `interrupted` where it says `running` and the run's process is gone."""
        if self.manifest is None:
            return None
        return "interrupted" if self.process_gone else str(self.manifest.status)

    @property
    def run_status_text(self) -> str:
        """The run status as the report says it."""
        if self.process_gone:
            return "interrupted (the run's process is gone)"
        return str(self.run_status)

    def with_status(self, *statuses: str) -> list[Combination]:
        return [c for c in self.combinations.values() if c.status in statuses]

    @property
    def models(self) -> list[str]:
        return self._ordered(0)

    @property
    def presets(self) -> list[str]:
        return self._ordered(1)

    @property
    def datasets(self) -> list[str]:
        from evalclient.tasks import task_names

        order = task_names()
        names = self._ordered(2)
        return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))

    def _ordered(self, part: int) -> list[str]:
        """Names in the order of the run's plan, then the others alphabetically."""
        planned = [k[part] for k in _planned(self.manifest)]
        names = {k[part] for k in self.combinations}
        return sorted(names, key=lambda n: (planned.index(n) if n in planned else len(planned), n))


def load_tree(base_dir: Path) -> ResultsTree:
    """Read the tree at `base_dir`; ResultsError when it holds neither a manifest nor a metrics file."""
    detailed = base_dir / "metrics" / "detailed"
    files = sorted(detailed.glob("*.json")) if detailed.is_dir() else []
    manifest = read_manifest(base_dir / "manifest.json")
    if manifest is None and not files:
        raise ResultsError(
            f"no results in {base_dir} (neither manifest.json nor metrics/detailed/*.json)",
            "pass --output with the folder a run wrote, or run `evalclient run` first",
        )
    combinations: dict[Key, Combination] = {}
    for model, preset, dataset in _planned(manifest):
        combinations[(model, preset, dataset)] = Combination(model, preset, dataset, "missing")
    unreadable: dict[str, str] = {}
    for path in files:
        try:
            record = load_record(path)
        except ResultsError as exc:
            unreadable[path.stem] = exc.message
            continue
        combo = Combination(record.model, record.preset, record.dataset, record.status, record, record.reason)
        combo.samples = _samples(base_dir, record, combo.notes)
        combo.repeats = _repeats(base_dir, record, combo.notes)
        combinations[record.key] = combo
    presets = {k[1] for k in combinations}
    for stem, message in unreadable.items():
        key = _key_from_name(stem, combinations, presets)
        combinations[key] = Combination(*key, status="unreadable", reason=message)
    _apply_manifest_outcomes(manifest, combinations)
    gone = manifest is not None and manifest.status == "running" and _process_gone(base_dir, manifest)
    return ResultsTree(base_dir, manifest, combinations, gone)


def _process_gone(base_dir: Path, manifest: Manifest) -> bool:
    """Whether the process of the run the manifest names has ended (False where it cannot be told)."""
    from evalclient.results.lock import RunLock

    path = RunLock(base_dir, "").path
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(holder, dict):
        return False
    if holder.get("run_id") is not None and holder.get("run_id") != manifest.run_id:
        return True  # another run took the folder's lock since: this one no longer holds it
    pid = holder.get("pid")
    if isinstance(pid, int) and pid > 0:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass  # another user's process: alive
    return _lock_is_free(path)


def _lock_is_free(path: Path) -> bool:
    """Whether nobody holds the flock on `path` (taken shared and let go at once; False where unknown)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # held (EWOULDBLOCK), or locks unsupported here
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _planned(manifest: Manifest | None) -> list[Key]:
    plan = manifest.plan if manifest is not None else []
    return [(d.model, d.preset, dataset) for d in plan for dataset in d.datasets]


def _apply_manifest_outcomes(manifest: Manifest | None, combinations: dict[Key, Combination]) -> None:
    """A combination the run recorded as failed without writing a record is failed, with its reason; a
    record older than the latest run's failure says so."""
    if manifest is None:
        return
    for name, outcome in manifest.combinations.items():
        parts = name.split("/")
        combo = combinations.get((parts[0], parts[1], parts[2])) if len(parts) == 3 else None
        if combo is None:
            continue
        status, reason = outcome.status, _first_line(outcome.error)
        if combo.status == "missing" and status in ("failed", "partial"):
            combo.status = status
            combo.reason = reason or "no reason recorded"
        elif combo.record is not None and status == "failed" and combo.record.run_id != manifest.run_id:
            combo.notes.append(
                f"the latest run failed it ({reason}); shown: the record of run {combo.record.run_id}"
            )


def _samples(base_dir: Path, record: CombinationRecord, notes: list[str]) -> list[SampleRow] | None:
    if record.predictions_file is None:
        notes.append("no predictions file recorded")
        return None
    path = base_dir / record.predictions_file
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"predictions {record.predictions_file} unreadable: {exc}")
        return None
    return [_sample_row(PredictionRow.from_dict(row)) for row in rows if isinstance(row, dict)]


def _sample_row(row: PredictionRow) -> SampleRow:
    completions = [c for c in row.completions if isinstance(c, dict)]
    ttft = next((c["ttft_ms"] for c in completions if isinstance(c.get("ttft_ms"), int | float)), None)
    generated = [
        c["completion_tokens"]
        for c in completions
        if c.get("kind") in ("chat", "generate") and isinstance(c.get("completion_tokens"), int)
    ]
    return SampleRow(
        id=row.id,
        answered=row.answered,
        verdict=dict(row.score),
        answer=row.answer,
        ttft_ms=float(ttft) if ttft is not None else None,
        output_tokens=sum(generated) if generated else None,
    )


def _repeats(base_dir: Path, record: CombinationRecord, notes: list[str]) -> list[RepeatRow]:
    path = repeats_file(base_dir, record.model, record.preset, record.dataset)
    if not path.exists():
        return []
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"repeated answers {path.name} unreadable: {exc}")
        return []
    current = [r for r in rows if isinstance(r, dict) and r.get("fingerprint") == record.fingerprint]
    if len(current) < len(rows):
        notes.append(f"{len(rows) - len(current)} repeated answers of another configuration ignored")
    return [
        RepeatRow(
            id=str(r.get("id")),
            first_answer=answer_of(r.get("first_response"), r.get("first_score") or {}),
            second_answer=answer_of(r.get("response"), r.get("score") or {}),
            first_verdict=dict(r.get("first_score") or {}),
            second_verdict=dict(r.get("score") or {}),
            concurrency=r.get("concurrency"),
        )
        for r in current
        if r.get("error") is None
    ]


def _key_from_name(stem: str, known: dict[Key, Combination], presets: set[str]) -> Key:
    """model, preset, dataset of an unreadable metrics file <model>_<preset>_<dataset>.json, by the dataset
    names of the registry and the presets of the tree ("?" where the name does not say)."""
    from evalclient.tasks import task_names

    for key in known:
        if "_".join(key) == stem:
            return key
    dataset = next((d for d in task_names() if stem.endswith("_" + d)), None)
    if dataset is None:
        return stem, "?", "?"
    rest = stem[: -len(dataset) - 1]
    preset = next((p for p in sorted(presets, key=len, reverse=True) if rest.endswith("_" + p)), None)
    return (rest[: -len(preset) - 1], preset, dataset) if preset else (rest, "?", dataset)


def _first_line(text: Any) -> str:
    return str(text).splitlines()[0] if text else ""
