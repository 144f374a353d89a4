"""What the judge needs beside the dataset rows, joined to them: MT-Bench's reference answers (as the row
field `reference_answer`) and AlpacaEval's instruction difficulty (as `instruction_difficulty`).

Each file is looked for, first found: the command's option, then the `--data-dir`, then the results tree's
`cache/datasets/` (where `evalclient datasets fetch` puts them):

- `mt_bench.reference_answer.jsonl`: FastChat's data/mt_bench/reference_answer/gpt-4.jsonl;
- `alpaca_eval.instruction_difficulty.csv`: `instruction_difficulty.csv` of the tatsu-lab/alpaca_eval hub
  dataset (columns `index,instruction_difficulty`, index = the instruction's 0-based row).
"""

from __future__ import annotations

import csv
import logging
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from evalclient.errors import DatasetError
from evalclient.tasks.base import Sample
from evalclient.tasks.mt_bench_prompts import NEED_REFERENCE
from evalclient.tasks.mt_bench_references import FILE_NAME as REFERENCES_FILE
from evalclient.tasks.mt_bench_references import SOURCE_URL, load_references, reference_for

DIFFICULTY_FILE = "alpaca_eval.instruction_difficulty.csv"
DIFFICULTY_REPO = ("tatsu-lab/alpaca_eval", "instruction_difficulty.csv")
log = logging.getLogger("evalclient.judge")


@dataclass(frozen=True)
class JudgeData:
    """Explicit files (None: look in the data dir, then the cache)."""

    data_dir: Path | None = None
    cache_dir: Path | None = None
    references: Path | None = None
    difficulty: Path | None = None

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
            return with_difficulty(samples, self.find(self.difficulty, DIFFICULTY_FILE))
        return list(samples)


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
    """Rows get `instruction_difficulty` by their 0-based index (the sample id)."""
    if path is None:
        return list(samples)
    difficulty = load_difficulty(path)
    return [
        replace(s, row={**s.row, "instruction_difficulty": difficulty[s.id]}) if s.id in difficulty else s
        for s in samples
    ]


def fetch_judge_files(dataset: str, cache_dir: Path) -> Path | None:
    """Download the dataset's judge data into `cache_dir` (`evalclient datasets fetch`); None when it has
    none. MT-Bench's references come from FastChat's repository at a pinned commit, AlpacaEval's difficulty
    from its hub dataset."""
    if dataset == "mt_bench":
        target = cache_dir / REFERENCES_FILE
        _download(SOURCE_URL, target)
        load_references(target)  # a readable file, or DatasetError naming it
        return target
    if dataset == "alpaca_eval":
        target = cache_dir / DIFFICULTY_FILE
        try:
            from huggingface_hub import hf_hub_download

            downloaded = hf_hub_download(DIFFICULTY_REPO[0], DIFFICULTY_REPO[1], repo_type="dataset")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(downloaded).read_bytes())
        except Exception as exc:
            raise DatasetError(
                f"cannot download {DIFFICULTY_REPO[1]} of {DIFFICULTY_REPO[0]}: {exc}"
            ) from None
        load_difficulty(target)
        return target
    return None


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


def load_difficulty(path: Path) -> dict[str, float]:
    """index -> difficulty from a two-column CSV with a header line."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        return {str(int(float(r[0]))): float(r[1]) for r in rows[1:] if r}
    except (OSError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise DatasetError(
            f"cannot read the instruction difficulty file {path}: {exc}",
            "give AlpacaEval's instruction_difficulty.csv (columns index,instruction_difficulty)",
        ) from None
