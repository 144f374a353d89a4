"""The Hugging Face model cache, whose hub/ every engine container mounts: weights are downloaded once.

`--model-cache DIR`, else `$HF_HOME`, else `~/.cache/huggingface` (the hub's own default). Engines keep the
hub layout under it (`hub/models--Org--Name/`), so the host's `huggingface-cli download`, TGI, vLLM and SGLang
share one copy of each model. Only hub/ is mounted: the rest of the folder (a saved login's `token` and
`stored_tokens`, other caches) stays on the host.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from evalclient.errors import ResultsError


def model_cache_path(option: Path | None = None) -> Path:
    """The cache folder (absolute), whether it exists or not."""
    if option is not None:
        folder = option
    elif os.environ.get("HF_HOME"):
        folder = Path(os.environ["HF_HOME"])
    else:
        folder = Path("~/.cache/huggingface")
    return folder.expanduser().absolute()


def resolve_model_cache(option: Path | None = None) -> Path:
    """The cache folder to mount (absolute, created when missing)."""
    folder = model_cache_path(option)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(
            f"cannot create the model cache {folder}: {exc.strerror}",
            "pass --model-cache with a writable folder (or set HF_HOME)",
        ) from None
    return folder


def model_dir(cache: Path, hub_id: str) -> Path:
    """Where the hub keeps one model's files inside the cache."""
    return hub_dir(cache) / ("models--" + hub_id.replace("/", "--"))


def hub_dir(cache: Path) -> Path:
    """The hub's own folder in the cache: the one part of it an engine container mounts."""
    return cache / "hub"


def hub_token(cache: Path) -> str | None:
    """The host's Hugging Face token for gated models, read in huggingface_hub's order (utils/_auth.py
    `get_token`): HF_TOKEN, its old name HUGGING_FACE_HUB_TOKEN, else the saved login (HF_TOKEN_PATH, else
    the cache's `token`); cleaned as `_clean_token` cleans it (line breaks dropped, spaces stripped, empty:
    None)."""
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if not token:
        try:
            token = Path(os.environ.get("HF_TOKEN_PATH") or cache / "token").read_text(encoding="utf-8")
        except OSError:  # none saved, or not readable by this user: no token
            return None
    return token.replace("\r", "").replace("\n", "").strip() or None


def has_token(cache: Path) -> bool:
    """Whether a Hugging Face token is set for gated models: HF_TOKEN (or its old name), or a saved login."""
    return hub_token(cache) is not None


def cached_gb(cache: Path, hub_ids: Iterable[str]) -> dict[str, float]:
    """Decimal GB already on disk per model (0.0 for a model not downloaded yet)."""
    sizes: dict[str, float] = {}
    for hub_id in hub_ids:
        root = model_dir(cache, hub_id)
        total = 0
        for path in root.rglob("*") if root.is_dir() else ():
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        sizes[hub_id] = total / 1e9
    return sizes
