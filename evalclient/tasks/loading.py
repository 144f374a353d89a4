"""Dataset rows from the hub (the pinned files of a split: tasks/hub.py) or a local JSON/JSONL/Parquet file,
and seeded sampling.

Local files hold rows in the hub schema (same field names). Every row is checked for the task's required
fields, and a problem names the file, the row and the field; a task may then complete its rows
(`TaskSpec.prepare_rows`). A task whose hub files are not one table reads them itself (`TaskSpec.hub_rows`,
given the hub store).
Samples are a seeded subset in original
order: the first n of one seeded permutation, so a larger n keeps every id a smaller n chose.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalclient.errors import DatasetError, UsageError
from evalclient.tasks.base import Sample, TaskSpec
from evalclient.tasks.hub import OFFLINE_HINT, HubStore, split_files

DATA_FILE_SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".parquet")

Row = dict[str, Any]
log = logging.getLogger("evalclient.dataset")


def find_data_file(data_dir: Path, name: str) -> Path | None:
    """`<data_dir>/<name>.jsonl`, `.json` or `.parquet` (first that exists, in that order), else None."""
    for suffix in DATA_FILE_SUFFIXES:
        candidate = data_dir / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_task_rows(task: TaskSpec, data_file: Path | None = None, cache_dir: Path | None = None) -> list[Row]:
    """The task's rows from `data_file` when given, else from the hub (else, unreachable, from the copy a
    package ships where the task has one); every row checked for its fields."""
    if data_file is not None:
        rows, origin = load_file_rows(data_file), str(data_file)
    else:
        try:
            rows, origin = load_hub_rows(task, cache_dir), hub_label(task)
        except DatasetError as exc:
            if task.offline_rows is None:
                raise
            log.warning("%s; using the copy a package ships instead", exc.message)
            rows, origin = task.offline_rows(), f"{task.name} rows shipped with a package"
    validate_rows(task, rows, origin)
    return task.prepare_rows(rows) if task.prepare_rows is not None else rows


def hub_label(task: TaskSpec) -> str:
    """`path[/config]:split@revision`, how messages name a hub dataset."""
    source = task.source
    config = f"/{source.config}" if source.config else ""
    return f"{source.path}{config}:{source.split}@{source.revision}"


def load_hub_rows(task: TaskSpec, cache_dir: Path | None = None, store: HubStore | None = None) -> list[Row]:
    """Rows of the task's pinned hub split, read from the files its source declares for it (downloaded by
    name through `huggingface_hub` and checked against the dataset lock: tasks/hub.py), in file order; its
    row count checked against the declared one. Any failure is a DatasetError."""
    store = store or HubStore.of(cache_dir)
    try:
        if task.hub_rows is not None:
            rows = task.hub_rows(store)
        else:
            rows = [row for path in split_files(task.name, task.source, task.source.split, store)
                    for row in load_file_rows(path)]  # fmt: skip
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(
            f"cannot load {task.name} from the hub ({hub_label(task)}): {_first_line(exc)}", OFFLINE_HINT
        ) from exc
    expected = task.source.rows_of()
    if expected is not None and len(rows) != expected:
        raise DatasetError(
            f"{task.name}: {hub_label(task)} holds {len(rows)} rows; its source declares {expected}",
            "the hub files are not the ones this evalclient pins: report it, or pass --data-dir",
        )
    return rows


def load_file_rows(path: Path) -> list[Row]:
    """Rows of a local file: a JSON list, JSON Lines, or Parquet, chosen by the file's suffix."""
    if not path.is_file():
        raise DatasetError(f"data file {path} does not exist", "check the --data-file / --data-dir path")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix == ".jsonl":
        return _parse_jsonl(path, _read_text(path))
    if suffix == ".json":
        return _parse_json(path, _read_text(path))
    raise DatasetError(
        f"data file {path} has an unsupported type {suffix or '(none)'}",
        f"use one of {', '.join(DATA_FILE_SUFFIXES)}",
    )


def validate_rows(task: TaskSpec, rows: Sequence[Any], origin: str) -> None:
    """DatasetError naming origin, row (0-based) and field for the first row lacking a required field, or
    naming origin when it has no row at all (nothing to evaluate is never an empty success)."""
    needs = (
        f"{task.name} rows need the fields {', '.join(task.required_fields)} (the {task.source.path} schema)"
    )
    if not rows:
        raise DatasetError(
            f"{origin} has no rows: there is nothing to evaluate for {task.name}",
            f"give it rows in the {task.source.path} schema, or remove it to read the pinned hub split",
        )
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DatasetError(f"{origin}: row {index} (0-based) is not an object", needs)
        for field in task.required_fields:
            if field not in row:
                raise DatasetError(f"{origin}: row {index} (0-based) has no field {field!r}", needs)


def select_samples(
    task: TaskSpec, rows: Sequence[Mapping[str, Any]], n: int | None, seed: int
) -> list[Sample]:
    """n rows as Samples (ids per `task.sample_id`), a seeded subset in original order; all when n is None
    or covers the rows."""
    if n is not None and n < 0:
        raise UsageError(f"the number of samples must be 0 or more, not {n}")
    if n is None or n >= len(rows):
        indices: Sequence[int] = range(len(rows))
    elif task.stratify is not None:
        indices = _stratified(rows, task.stratify, n, seed)
    else:
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        indices = sorted(order[:n])
    samples = [Sample(id=task.sample_id(rows[i], i), row=rows[i]) for i in indices]
    _check_unique_ids(task, samples)
    return samples


def _stratified(rows: Sequence[Mapping[str, Any]], key: str, n: int, seed: int) -> list[int]:
    """n row indices spread over the groups of `key` in proportion to their size (largest remainders get the
    rest, ties by group name), each group's share a seeded subset; in original order."""
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(str(row.get(key)), []).append(index)
    quotas = {name: n * len(members) / len(rows) for name, members in groups.items()}
    counts = {name: int(quota) for name, quota in quotas.items()}
    by_remainder = sorted(groups, key=lambda name: (-(quotas[name] - counts[name]), name))
    for name in by_remainder[: n - sum(counts.values())]:
        counts[name] += 1
    chosen: list[int] = []
    for name in sorted(groups):
        members = list(groups[name])
        random.Random(f"{seed}:{name}").shuffle(members)
        chosen += members[: counts[name]]
    return sorted(chosen)


def _check_unique_ids(task: TaskSpec, samples: Sequence[Sample]) -> None:
    seen: set[str] = set()
    for sample in samples:
        if sample.id in seen:
            raise DatasetError(
                f"{task.name}: sample id {sample.id!r} appears more than once",
                f"the {task.id_field} field must be unique per row",
            )
        seen.add(sample.id)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"cannot read data file {path}: {_first_line(exc)}", "give a UTF-8 text file"
        ) from exc


def _parse_json(path: Path, text: str) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _parse_jsonl(path, text)  # hub repos (e.g. BFCL) ship JSON Lines under a .json name
    if not isinstance(data, list):
        raise DatasetError(
            f"{path}: expected a JSON list of rows", "or give one row per line in a .jsonl file"
        )
    return data


def _parse_jsonl(path: Path, text: str) -> list[Row]:
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{path}: line {number} is not valid JSON ({exc.msg})", "give one JSON object per line"
            ) from exc
    return rows


def _read_parquet(path: Path) -> list[Row]:
    try:
        import pyarrow.parquet as pq

        rows: list[Row] = pq.read_table(path).to_pylist()
    except Exception as exc:
        raise DatasetError(
            f"cannot read Parquet file {path}: {_first_line(exc)}", "give a valid .parquet file"
        ) from exc
    return rows


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else f"{line[:297]}..."
