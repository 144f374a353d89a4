"""MT-Bench reference answers for reference-guided grading, in FastChat's reference_answer format.

FastChat grades math, reasoning and coding answers against GPT-4's answers, shipped in its repository as
`fastchat/llm_judge/data/mt_bench/reference_answer/gpt-4.jsonl` (30 lines, questions 101-130): one JSON
object per line, `{"question_id": 101, "choices": [{"index": 0, "turns": ["<turn 1>", "<turn 2>"]}], ...}`.
Where it is read from, first found: `--mt-bench-references FILE`, then `mt_bench.reference_answer.jsonl` in
the `--data-dir`, then in `<output>/cache/datasets/` (where `evalclient datasets fetch` writes it).

The hub copy (HuggingFaceH4/mt_bench_prompts) renumbers the questions: its `prompt_id` is
`int(sha256("".join(turns)).hexdigest(), 16) % 10**8` (its dataset card). `FASTCHAT_IDS` maps those ids
back to FastChat's question ids, computed that way from FastChat's question.jsonl (commit b494d0c6); a
reference line may also carry the hub id itself as its `question_id`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalclient.errors import DatasetError

FILE_NAME = "mt_bench.reference_answer.jsonl"
SOURCE_URL = (
    "https://raw.githubusercontent.com/lm-sys/FastChat/b494d0c6b4e7935f1764f8439e75da3e66beccc7/"
    "fastchat/llm_judge/data/mt_bench/reference_answer/gpt-4.jsonl"
)
HINT = (
    f"pass --mt-bench-references with FastChat's data/mt_bench/reference_answer/gpt-4.jsonl, or put it in "
    f"the --data-dir as {FILE_NAME}; `evalclient datasets fetch` downloads it"
)

FASTCHAT_IDS: dict[int, int] = {
    44067482: 81,
    49723273: 82,
    72595869: 83,
    9147946: 84,
    3075696: 85,
    38622539: 86,
    54154842: 87,
    29742357: 88,
    16377588: 89,
    26014682: 90,
    39413040: 91,
    29558191: 92,
    67730962: 93,
    97487108: 94,
    29023905: 95,
    84856299: 96,
    28596049: 97,
    23376687: 98,
    2379839: 99,
    54595143: 100,
    15896981: 101,
    45070360: 102,
    43568637: 103,
    40319087: 104,
    70728745: 105,
    30350920: 106,
    90276646: 107,
    32663300: 108,
    28957987: 109,
    89774116: 110,
    22339468: 111,
    82969860: 112,
    17722882: 113,
    35264271: 114,
    9170963: 115,
    27514636: 116,
    42252927: 117,
    75477827: 118,
    48989963: 119,
    92837357: 120,
    63152110: 121,
    3583619: 122,
    34377376: 123,
    46306085: 124,
    50530142: 125,
    65906068: 126,
    24433994: 127,
    19673382: 128,
    23836768: 129,
    73474718: 130,
    97281954: 131,
    96536319: 132,
    34830845: 133,
    37403084: 134,
    48344673: 135,
    42813505: 136,
    41972921: 137,
    68335013: 138,
    51413464: 139,
    36918905: 140,
    46091167: 141,
    67710207: 142,
    80635012: 143,
    57239570: 144,
    30694245: 145,
    65106343: 146,
    11060974: 147,
    14343420: 148,
    24063625: 149,
    25568812: 150,
    47292991: 151,
    68280443: 152,
    60780117: 153,
    62739310: 154,
    14125357: 155,
    6404588: 156,
    30655190: 157,
    97392077: 158,
    36620167: 159,
    46111977: 160,
}
"""The hub's prompt_id -> FastChat's question_id, for all 80 questions."""


def load_references(path: Path) -> dict[str, tuple[str, ...]]:
    """question_id (as a string) -> the reference turns; DatasetError naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the MT-Bench reference answers {path}: {exc}", HINT) from None
    references: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = row["choices"][0]["turns"]
            references[str(row["question_id"])] = tuple(str(t) for t in turns)
        except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
            raise DatasetError(
                f"{path}: line {number} is not a FastChat reference answer ({type(exc).__name__}: {exc})",
                'each line: {"question_id": N, "choices": [{"turns": ["...", "..."]}]}',
            ) from None
    return references


def reference_for(
    row: Mapping[str, Any], references: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...] | None:
    """The reference turns of a hub row: by its prompt_id, else by the FastChat question id it maps to."""
    prompt_id = row.get("prompt_id")
    found = references.get(str(prompt_id))
    if found is None and isinstance(prompt_id, int) and prompt_id in FASTCHAT_IDS:
        found = references.get(str(FASTCHAT_IDS[prompt_id]))
    return found


def fastchat_id(row: Mapping[str, Any]) -> int | None:
    """FastChat's question id of a hub row, where known."""
    prompt_id = row.get("prompt_id")
    return FASTCHAT_IDS.get(prompt_id) if isinstance(prompt_id, int) else None
