"""DatasetManager: where each dataset's rows come from (file or hub), seeded samples, and fingerprints.

Source order per dataset: an explicit `--data-file`, else `<data_dir>/<name>.jsonl|.json|.parquet`, else
the pinned hub split (through the `datasets` cache in `cache_dir`). Rows are loaded once per manager.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from evalclient.errors import DatasetError
from evalclient.tasks.base import Sample, TaskSpec
from evalclient.tasks.loading import Row, find_data_file, hub_label, load_task_rows, select_samples
from evalclient.tasks.registry import get_task, task_names


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
        self._rows: dict[str, list[Row]] = {}

    def data_file_for(self, name: str) -> Path | None:
        """The local file `name` is read from (explicit file, then data_dir), or None for the hub."""
        task = get_task(name)
        explicit = self.data_files.get(task.name)
        if explicit is not None:
            return explicit
        return find_data_file(self.data_dir, task.name) if self.data_dir is not None else None

    def rows(self, name: str) -> list[Row]:
        """All rows of the dataset's split (or file), loaded once and validated."""
        task = get_task(name)
        if task.name not in self._rows:
            self._rows[task.name] = self._load(task)
        return self._rows[task.name]

    def get_evaluation_samples(self, name: str, n: int | None) -> list[Sample]:
        """n samples of `name` (all when n is None or covers the split), the same ids for the same seed."""
        task = get_task(name)
        return select_samples(task, self.rows(task.name), n, self.seed)

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

    def dataset_fingerprint(self, name: str) -> str:
        """`sha256:<hex>` of the local file, or `hub:<path>[/<config>]:<split>@<revision>` for the hub."""
        task = get_task(name)
        path = self.data_file_for(task.name)
        if path is not None:
            return f"sha256:{_file_sha256(path)}"
        return f"hub:{hub_label(task)}"

    def _load(self, task: TaskSpec) -> list[Row]:
        path = self.data_file_for(task.name)
        if path is None and self.data_dir is not None:
            try:
                return load_task_rows(task, None, self.cache_dir)
            except DatasetError as exc:
                raise DatasetError(
                    f"{exc.message}; {self.data_dir} has no {task.name}.jsonl, .json or .parquet", exc.hint
                ) from exc
        return load_task_rows(task, path, self.cache_dir)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise DatasetError(f"cannot read data file {path}: {exc.strerror or exc}", "check the path") from exc
    return digest.hexdigest()
