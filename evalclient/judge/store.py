"""The judgments of one combination: `predictions/judgments/<model>_<preset>_<dataset>.jsonl`, beside the
predictions, one JSON object per judgment appended (and flushed) the moment it arrives.

Each line holds what was asked and what came back: the judge's name and model, the item (sample id, turn or
order, prompt name), the prompt messages and sampling, the raw judgment text and the full completion (logprobs
included). A judgment is found again by its key, a hash of the judge's name and the exact request, so a judged
answer is never judged again by the same judge, while a changed answer, prompt or judge is. Failed requests
are not stored (the next `evalclient judge` retries them); a torn last line is ignored.

Beside it, `<model>_<preset>_<dataset>.scores.json` keeps each judge's scores by its name (`JudgeScores`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import ChatRequest
from evalclient.errors import ResultsError
from evalclient.results.atomic import atomic_write_json
from evalclient.tasks.context import JudgeItem

log = logging.getLogger("evalclient.judge")


def judgment_key(judge_name: str, request: ChatRequest) -> str:
    """sha256 over the judge's name and everything the request asks."""
    asked = {
        "judge": judge_name,
        "messages": list(request.messages),
        "sampling": request.sampling.as_dict(),
        "logprobs": request.logprobs,
    }
    return hashlib.sha256(json.dumps(asked, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class JudgmentStore:
    """The judgments file of one combination."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Completion]:
        """Stored completions by key (every judge's)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        stored: dict[str, Completion] = {}
        for line in lines:
            try:
                row = json.loads(line)
                stored[str(row["key"])] = Completion.from_dict(row["completion"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("%s: an unreadable line skipped", self.path.name)
        return stored

    def append(self, key: str, judge: dict[str, Any], item: JudgeItem, completion: Completion) -> None:
        """Add one judgment, flushed to the operating system before returning."""
        row = {
            "key": key,
            "judge": judge.get("name"),
            "judge_model": judge.get("model"),
            "item": item.key,
            "sample_id": item.sample_id,
            "meta": item.meta,
            "messages": list(item.request.messages),
            "sampling": item.request.sampling.as_dict(),
            "logprobs": item.request.logprobs,
            "judgment": completion.answer,
            "completion": completion.as_dict(),
            "judged_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = self.path.exists() and self.path.stat().st_size > 0 and not _ends_with_newline(self.path)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if torn else "") + json.dumps(row, ensure_ascii=False) + "\n")
            handle.flush()


class JudgeScores:
    """Each judge's scores of one combination, by the judge's name: its identity, its last complete set
    (`complete`: the metrics, the predictions file they grade, when) and its last run (`last_run`: status,
    message, when, the metrics it reached). A run that is not complete changes only its own `last_run`: a
    judge's complete set is replaced only by a complete new one; other judges' entries are never touched."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, Any]]:
        """The entries by judge name; ResultsError where the file is unreadable (it is never overwritten)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ResultsError(
                f"cannot read the judges' scores {self.path}: {exc}",
                "repair it or move it aside (the judgments themselves are in the .jsonl beside it)",
            ) from None
        judges = data.get("judges") if isinstance(data, dict) else None
        if not isinstance(judges, dict):
            raise ResultsError(
                f"{self.path} holds no `judges` object", "repair it or move it aside, then judge again"
            )
        return {str(name): dict(entry) for name, entry in judges.items() if isinstance(entry, dict)}

    def update(
        self, identity: dict[str, Any], last_run: dict[str, Any], complete: dict[str, Any] | None = None
    ) -> None:
        """Record a run of the judge `identity["name"]`; its complete set too where the run gave one."""
        judges = self.load()
        entry = judges.setdefault(str(identity["name"]), {})
        entry["judge"] = identity
        if complete is not None:
            entry["complete"] = complete
        entry["last_run"] = last_run
        atomic_write_json(self.path, {"judges": dict(sorted(judges.items()))})


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"
