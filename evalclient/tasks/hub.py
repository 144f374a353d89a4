"""A dataset's pinned files on the Hugging Face hub, through `huggingface_hub`, checked against the lock.

Only the files a split is read from (`HubSource.files`) are downloaded, by name at the pinned commit, into the
datasets cache: a repository's loading script is never fetched nor run, whatever `datasets` version is
installed. Every file read is checked against the dataset lock (tasks/lock.py): its SHA-256, and, while the
hub can be asked, the ETag the hub gives it now (one HEAD request a file; skipped offline, `HF_HUB_OFFLINE=1`,
and after the first request the hub does not answer). `HF_ENDPOINT` points at another hub (a mirror, or the
tests' stand-in), read at each call.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from evalclient.errors import DatasetError
from evalclient.tasks.base import HubSource
from evalclient.tasks.lock import REFETCH_HINT, DatasetLock, LockedFile

COMMIT = re.compile(r"^[0-9a-f]{40}$")
ETAG_TIMEOUT_S = 5.0
OFFLINE_HINT = (
    "pass --data-dir/--data-file with rows in the hub schema, "
    "or run `evalclient datasets fetch` on a connected machine to fill the cache"
)
log = logging.getLogger("evalclient.dataset")


def offline() -> bool:
    """Whether the hub may not be asked (`HF_HUB_OFFLINE`, read now)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT") or None


@dataclass
class HubStore:
    """Where hub files go (None: the Hugging Face cache) and the lock they are checked against."""

    cache_dir: Path | None
    lock: DatasetLock | None
    ask_hub: bool = True
    """Whether to ask the hub for each file's current ETag (False once it failed to answer)."""
    served: list[Path] = field(default_factory=list)
    """Every file handed out, in order."""

    @classmethod
    def of(cls, cache_dir: Path | str | None) -> HubStore:
        folder = None if cache_dir is None else Path(cache_dir)
        return cls(folder, None if folder is None else DatasetLock.open(folder))

    def commit(self, repo: str, revision: str) -> str:
        """The commit to read `repo` at: `revision` itself when it is one, else the commit the lock holds for
        it, else the one the hub resolves it to now (then locked)."""
        if COMMIT.match(revision):
            return revision
        locked = self.lock.commit(repo, revision) if self.lock is not None else None
        if locked is not None:
            return locked
        if offline():
            raise DatasetError(
                f"{repo}@{revision} is not pinned to a commit and no dataset lock says which commit it was",
                OFFLINE_HINT,
            )
        from huggingface_hub import HfApi

        commit = str(HfApi(endpoint=endpoint()).dataset_info(repo, revision=revision).sha)
        log.warning("%s: revision %s resolved to commit %s and locked", repo, revision, commit)
        if self.lock is not None:
            self.lock.lock_commit(repo, revision, commit)
        return commit

    def file(self, dataset: str, repo: str, revision: str, filename: str) -> Path:
        """The file, downloaded at the pinned commit (or from the cache) and checked against the lock."""
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        commit = self.commit(repo, revision)
        where = f"{filename} of {repo}@{commit[:12]}"
        try:
            local = Path(
                hf_hub_download(
                    repo,
                    filename,
                    repo_type="dataset",
                    revision=commit,
                    cache_dir=None if self.cache_dir is None else str(self.cache_dir),
                    endpoint=endpoint(),
                    local_files_only=offline(),
                )
            )
        except LocalEntryNotFoundError:
            cache = self.cache_dir or "the Hugging Face cache"
            why = "the hub may not be asked (HF_HUB_OFFLINE)" if offline() else "the hub cannot be reached"
            raise DatasetError(f"{dataset}: {where} is not in {cache} and {why}", OFFLINE_HINT) from None
        except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError) as exc:
            missing = (
                "repository" if isinstance(exc, RepositoryNotFoundError)
                else "commit" if isinstance(exc, RevisionNotFoundError) else "file"
            )  # fmt: skip
            raise DatasetError(
                f"{dataset}: the hub has no {where} (no such {missing})",
                "the repository changed on the hub: report it, or pass --data-dir with rows in its schema",
            ) from None
        if self.lock is not None:
            self._check(dataset, repo, revision, commit, filename, local)
        self.served.append(local)
        return local

    def _check(self, dataset: str, repo: str, revision: str, commit: str, filename: str, local: Path) -> None:
        assert self.lock is not None
        locked = self.lock.file(repo, revision, filename)
        found = self.lock.verify(dataset, repo, revision, filename, local)
        etag = self._hub_etag(repo, commit, filename)
        if locked is not None and locked.etag and etag and etag != locked.etag:
            raise DatasetError(
                f"{dataset}: the hub now serves {filename} of {repo}@{commit[:12]} with ETag {etag}; the "
                f"dataset lock has {locked.etag}",
                REFETCH_HINT.format(lock=self.lock.path),
            )
        if locked is None or (etag and not locked.etag):
            self.lock.lock_file(repo, revision, commit, filename, LockedFile(found.sha256, found.size, etag))

    def _hub_etag(self, repo: str, commit: str, filename: str) -> str | None:
        """The hub's ETag of the file now (its SHA-256 where it is kept in Git LFS), None when it cannot be
        asked."""
        if not self.ask_hub or offline():
            return None
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        url = hf_hub_url(repo, filename, repo_type="dataset", revision=commit, endpoint=endpoint())
        try:
            etag = get_hf_file_metadata(url, timeout=ETAG_TIMEOUT_S, endpoint=endpoint()).etag
        except Exception as exc:
            # the cache still holds the locked file: it is read, checked by its hash, and the log says why
            log.warning("the hub did not answer for %s (%s); the cached files are checked alone", repo, exc)
            self.ask_hub = False
            return None
        return None if etag is None else str(etag)


def split_files(dataset: str, source: HubSource, split: str, store: HubStore) -> list[Path]:
    """The files of `source`'s split, in order; DatasetError when the source declares none for it."""
    names = source.files_of(split)
    if not names:
        raise DatasetError(f"{dataset}: no hub files are declared for {source.path} split {split!r}")
    return [store.file(dataset, source.path, source.revision, name) for name in names]
