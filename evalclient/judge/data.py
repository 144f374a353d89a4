"""What the judge needs beside the dataset rows: MT-Bench's reference answers (joined to the rows as the field
`reference_answer`) and AlpacaEval's annotations of its two gamed baselines (df_gamed.csv: the rows its
length-controlled win rate is regularised with, and each instruction's difficulty, joined to the rows as
`instruction_difficulty`).

Each file is looked for, first found: the command's option, then the `--data-dir`, then the results tree's
`cache/datasets/` (where `evalclient datasets fetch` puts them):

- `mt_bench.reference_answer.jsonl`: FastChat's data/mt_bench/reference_answer/gpt-4.jsonl;
- `alpaca_eval.df_gamed.csv`: `df_gamed.csv` of the tatsu-lab/alpaca_eval hub dataset (columns model, index,
  preference, std_delta_len, instruction_difficulty, not_gamed_baseline; index = the instruction's 0-based
  row), read at the same pinned commit as the rows.
"""

from __future__ import annotations

import csv
import logging
import os
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evalclient.errors import DatasetError
from evalclient.tasks.alpaca_eval import GAMED_FILE, REVISION
from evalclient.tasks.base import Sample
from evalclient.tasks.hub import HubStore
from evalclient.tasks.mt_bench_prompts import NEED_REFERENCE
from evalclient.tasks.mt_bench_references import FILE_NAME as REFERENCES_FILE
from evalclient.tasks.mt_bench_references import SOURCE_URL, load_references, reference_for
from evalclient.tasks.win_rate import GamedRow

GAMED_CACHE_FILE = f"alpaca_eval.{GAMED_FILE}"
ALPACA_REPO = "tatsu-lab/alpaca_eval"
GITHUB_RAW_ENV = "EVALCLIENT_GITHUB_RAW"
"""A mirror of raw.githubusercontent.com (the reference answers' host) for `datasets fetch`."""
log = logging.getLogger("evalclient.judge")


@dataclass(frozen=True)
class JudgeData:
    """Explicit files (None: look in the data dir, then the cache)."""

    data_dir: Path | None = None
    cache_dir: Path | None = None
    references: Path | None = None
    gamed: Path | None = None

    def find(self, explicit: Path | None, name: str) -> Path | None:
        if explicit is not None:
            if not explicit.is_file():
                raise DatasetError(f"{explicit} does not exist", "check the path")
            return explicit
        for folder in (self.data_dir, self.cache_dir):
            if folder is not None and (folder / name).is_file():
                return folder / name
        return None

    def join(self, dataset: str, samples: Sequence[Sample]) -> list[Sample]:
        """The samples with what their judge prompts or metrics need added to their rows."""
        if dataset == "mt_bench":
            return with_references(samples, self.find(self.references, REFERENCES_FILE))
        if dataset == "alpaca_eval":
            return with_difficulty(samples, self._gamed())
        return list(samples)

    def extras(self, dataset: str) -> dict[str, Any]:
        """Dataset-level data the scorer needs (ScoreContext.data)."""
        if dataset == "alpaca_eval":
            gamed = self._gamed()
            return {} if gamed is None else {GAMED_FILE: gamed_rows(gamed)}
        return {}

    def _gamed(self) -> Path | None:
        return self.find(self.gamed, GAMED_CACHE_FILE)


def with_references(samples: Sequence[Sample], path: Path | None) -> list[Sample]:
    """Rows of reference-graded categories get `reference_answer` (their judge fails without it)."""
    references = load_references(path) if path is not None else {}
    joined = []
    for sample in samples:
        found = reference_for(sample.row, references)
        if found is not None and str(sample.row.get("category")) in NEED_REFERENCE:
            sample = replace(sample, row={**sample.row, "reference_answer": list(found)})
        joined.append(sample)
    return joined


def with_difficulty(samples: Sequence[Sample], path: Path | None) -> list[Sample]:
    """Rows get `instruction_difficulty` by their 0-based index (the sample id): df_gamed.csv's first row
    of each index, as AlpacaEval takes it."""
    if path is None:
        return list(samples)
    difficulty = load_difficulty(path)
    return [
        replace(s, row={**s.row, "instruction_difficulty": difficulty[s.id]}) if s.id in difficulty else s
        for s in samples
    ]


def fetch_judge_files(dataset: str, cache_dir: Path, store: HubStore | None = None) -> Path | None:
    """Download the dataset's judge data into `cache_dir` (`evalclient datasets fetch`); None when it has
    none. MT-Bench's references come from FastChat's repository at a pinned commit (through
    $EVALCLIENT_GITHUB_RAW where set), AlpacaEval's gamed annotations from its hub dataset at the rows' commit
    (checked against the dataset lock)."""
    if dataset == "mt_bench":
        target = cache_dir / REFERENCES_FILE
        _download(_github_url(SOURCE_URL), target)
        load_references(target)  # a readable file, or DatasetError naming it
        return target
    if dataset == "alpaca_eval":
        target = cache_dir / GAMED_CACHE_FILE
        downloaded = (store or HubStore.of(cache_dir)).file(dataset, ALPACA_REPO, REVISION, GAMED_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(downloaded.read_bytes())
        gamed_rows(target)
        return target
    return None


def _github_url(url: str) -> str:
    mirror = os.environ.get(GITHUB_RAW_ENV)
    prefix = "https://raw.githubusercontent.com"
    return mirror.rstrip("/") + url[len(prefix) :] if mirror and url.startswith(prefix) else url


def _download(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
    except OSError as exc:
        raise DatasetError(
            f"cannot download {url}: {exc}", "copy the file by hand (see the README)"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)


def _read_gamed(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read AlpacaEval's gamed annotations {path}: {exc}", GAMED_HINT) from None


GAMED_HINT = (
    "give df_gamed.csv of the tatsu-lab/alpaca_eval hub dataset (columns model, index, preference, "
    "std_delta_len, instruction_difficulty, not_gamed_baseline)"
)


def gamed_rows(path: Path) -> list[GamedRow]:
    """The gamed baselines' annotations of df_gamed.csv."""
    try:
        return [
            GamedRow(
                int(float(r["index"])),
                float(r["preference"]),
                float(r["std_delta_len"]),
                float(r["instruction_difficulty"]),
            )
            for r in _read_gamed(path)
        ]
    except (KeyError, ValueError, TypeError) as exc:
        raise DatasetError(f"{path} is not AlpacaEval's df_gamed.csv ({exc})", GAMED_HINT) from None


def load_difficulty(path: Path) -> dict[str, float]:
    """index -> difficulty: the first row of each index in df_gamed.csv."""
    difficulty: dict[str, float] = {}
    for row in gamed_rows(path):
        difficulty.setdefault(str(row.index), row.difficulty)
    return difficulty
