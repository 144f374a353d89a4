"""DatasetManager: where each dataset's rows come from (file or hub), seeded samples, and fingerprints.

Source order per dataset: an explicit `--data-file`, else `<data_dir>/<name>.jsonl|.json|.parquet`, else
the pinned hub split (its files in the datasets cache `cache_dir`, checked against its lock). Few-shot
examples come from the task's few-shot split: `<data_dir>/<name>.<split>.jsonl|...` (e.g. `mmlu.dev.jsonl`),
else the hub. Rows are loaded once per manager. Methods take a dataset name, or a task already configured
with its options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from evalclient.errors import DatasetError
from evalclient.tasks.base import Sample, TaskSpec
from evalclient.tasks.hub import COMMIT
from evalclient.tasks.loading import Row, find_data_file, hub_label, load_task_rows, select_samples
from evalclient.tasks.lock import DatasetLock, file_sha256
from evalclient.tasks.registry import get_task, task_names

TaskRef = str | TaskSpec


def _task(ref: TaskRef) -> TaskSpec:
    return get_task(ref) if isinstance(ref, str) else ref


class DatasetManager:
    """Loads rows for the sweep's datasets and hands out deterministic samples (DESIGN.md §1, §3)."""

    def __init__(
        self,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        seed: int = 1234,
        data_files: Mapping[str, Path] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.seed = seed
        self.data_files = {get_task(name).name: Path(path) for name, path in (data_files or {}).items()}
        self._rows: dict[tuple[str, str], list[Row]] = {}

    def data_file_for(self, ref: TaskRef, split: str | None = None) -> Path | None:
        """The local file the task's split is read from (explicit file, then data_dir); None: the hub."""
        task = _task(ref)
        if split is None or split == task.source.split:
            explicit = self.data_files.get(task.name)
            if explicit is not None:
                return explicit
            stem = task.name
        else:
            stem = f"{task.name}.{split}"
        return find_data_file(self.data_dir, stem) if self.data_dir is not None else None

    def rows(self, ref: TaskRef, split: str | None = None) -> list[Row]:
        """All rows of the task's split (its test split by default), loaded once and validated."""
        task = _task(ref)
        split = split or task.source.split
        key = (hub_label(task), split)
        if key not in self._rows:
            self._rows[key] = self._load(task, split)
        return self._rows[key]

    def get_evaluation_samples(self, ref: TaskRef, n: int | None) -> list[Sample]:
        """n samples (all when n is None or covers the split), the same ids for the same seed, each with its
        few-shot examples when the task asks for some."""
        task = _task(ref)
        samples = select_samples(task, self.rows(task), n, self.seed)
        if task.num_fewshot and task.fewshot is not None:
            pool = self.rows(task, task.fewshot.split)
            pick = task.fewshot.pick
            samples = [replace(s, shots=tuple(pick(pool, s.row, task.num_fewshot))) for s in samples]
        return samples

    def get_all_datasets_for_evaluation(
        self,
        n: int,
        caps: Mapping[str, int] | None = None,
        names: Iterable[str] | None = None,
    ) -> dict[str, list[Sample]]:
        """Samples for each dataset (all twelve in sweep order by default): min(n, its cap) each.

        `caps` are the per-dataset caps of presets/sweep.yaml; a dataset without one gets n.
        """
        limits = dict(caps or {})
        chosen = [get_task(name).name for name in (names if names is not None else task_names())]
        return {name: self.get_evaluation_samples(name, min(n, limits.get(name, n))) for name in chosen}

    def dataset_fingerprint(self, ref: TaskRef) -> str:
        """`sha256:<hex>` of the local file(s), or `hub:<path>[/<config>]:<split>@<revision>` for the hub;
        the few-shot split's source joins in when the task uses one."""
        task = _task(ref)
        parts = [self._source_id(task, None)]
        if task.num_fewshot and task.fewshot is not None:
            parts.append(self._source_id(task, task.fewshot.split))
        return " + ".join(parts)

    def _source_id(self, task: TaskSpec, split: str | None) -> str:
        path = self.data_file_for(task, split)
        if path is not None:
            return f"sha256:{file_sha256(path)}"
        if split is not None:
            task = task.for_split(split)
        return f"hub:{hub_label(task)}{self._locked_commit(task)}"

    def _locked_commit(self, task: TaskSpec) -> str:
        """` (commit <sha>)` where the source names a branch and the dataset lock says which commit it read
        (a branch locked anew to another commit is another dataset); else empty."""
        source = task.source
        if self.cache_dir is None or COMMIT.match(source.revision):
            return ""
        commit = DatasetLock.open(self.cache_dir).commit(source.path, source.revision)
        return "" if commit is None else f" (commit {commit})"

    def _load(self, task: TaskSpec, split: str) -> list[Row]:
        source = task.for_split(split)
        path = self.data_file_for(task, split)
        if path is None and self.data_dir is not None:
            stem = task.name if split == task.source.split else f"{task.name}.{split}"
            try:
                return load_task_rows(source, None, self.cache_dir)
            except DatasetError as exc:
                raise DatasetError(
                    f"{exc.message}; {self.data_dir} has no {stem}.jsonl, .json or .parquet", exc.hint
                ) from exc
        return load_task_rows(source, path, self.cache_dir)
