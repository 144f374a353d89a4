"""Which model a server says it serves, read from its own info endpoint, and whether it is the one asked for.

- TGI `/info` (router/src/lib.rs `Info`, v3.3.7): `model_id` and `model_sha` (the commit it loaded, when it
  knows one);
- vLLM `/v1/models` (entrypoints/openai serving_models.py `show_available_models`): `data[].root` is the
  model path the server loaded (`data[].id` the served name, which `--served-model-name` may change); no
  revision;
- SGLang `/server_info`: its server args, `model_path` and `revision` (what was asked for: a name or a
  commit); llama.cpp `/props` has a `model_path` too, the GGUF file it loaded, which names a conversion of
  the model rather than the model: whether it matches is unknown.

The record holds what the server said; a served model that is not the one asked for is a warning on the
terminal and a flag in the reports (an `--endpoint` serving another model is measured, never relabelled).
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalclient.deploy.model_cache import model_dir

COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ServedModel:
    """What the server reported: the model and, where it says, the commit it loaded."""

    model_id: str | None
    revision: str | None

    def matches(self, hub_id: str) -> bool | None:
        """Whether it is `hub_id` (None when the server did not say); a local path ending in the hub
        layout's folder (models--Org--Name) or in Org/Name counts as the same model."""
        if not self.model_id or self.model_id.lower().endswith(".gguf"):
            return None  # llama.cpp's /props `model_path`: a GGUF conversion's file, not the hub model
        served, asked = self.model_id.strip().rstrip("/").lower(), hub_id.lower()
        folder = "models--" + asked.replace("/", "--")
        return served == asked or served.endswith("/" + asked) or folder in served

    def recorded_id(self, hub_id: str) -> str:
        """The model id a record holds: the server's own where it names another model than `hub_id`."""
        return self.model_id if self.model_id and self.matches(hub_id) is False else hub_id

    def record(self, hub_id: str) -> dict[str, Any]:
        return {"model_id": self.model_id, "revision": self.revision, "matches": self.matches(hub_id)}


def served_model(info: dict[str, Any]) -> ServedModel:
    """The model an engine's info document names (TGI, vLLM or SGLang shape); unknown fields give None."""
    if isinstance(info.get("model_id"), str):
        sha = info.get("model_sha")
        return ServedModel(info["model_id"], sha if isinstance(sha, str) and COMMIT.match(sha) else None)
    data = info.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        card = data[0]
        name = card.get("root") or card.get("id")
        return ServedModel(name if isinstance(name, str) else None, None)
    if isinstance(info.get("model_path"), str):
        revision = info.get("revision")
        commit = revision if isinstance(revision, str) and COMMIT.match(revision) else None
        return ServedModel(info["model_path"], commit)
    return ServedModel(None, None)


def cached_commit(cache: Path, hub_id: str, revision: str) -> str | None:
    """The commit a branch or tag resolved to when the hub client last downloaded the model into `cache`
    (huggingface_hub writes it to `hub/models--Org--Name/refs/<revision>`); None when it never did."""
    if COMMIT.match(revision):
        return revision
    ref = model_dir(cache, hub_id) / "refs" / revision
    with suppress(OSError, UnicodeDecodeError):
        commit = ref.read_text(encoding="utf-8").strip()
        if COMMIT.match(commit):
            return commit
    return None
