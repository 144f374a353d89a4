"""A stand-in Hugging Face hub: the endpoints `huggingface_hub` calls to download a file and to resolve a
revision, on aiohttp, over repositories held in memory.

- `HEAD|GET /datasets/{owner}/{name}/resolve/{revision}/{path}`: the file at a commit or branch, with the
  headers the client reads: `X-Repo-Commit`, `ETag` (git's blob hash, as the hub gives it for a file kept in
  git) or, for a file kept in Git LFS (here: Parquet and anything over 100 kB), `X-Linked-Etag` (its SHA-256)
  and `X-Linked-Size`; a missing file, revision or repository answers 404 with the hub's `X-Error-Code`;
- `GET /api/datasets/{owner}/{name}/revision/{revision}`: the repository's info at a revision (`sha`,
  `siblings`);
- `GET /raw/{path}`: files of other hosts (raw.githubusercontent.com), for `EVALCLIENT_GITHUB_RAW`.

Every request is logged (`requests`), so a test can assert what was, and was not, downloaded.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

LFS_MIN_BYTES = 100_000


@dataclass
class Repo:
    """A dataset repository: its commits (path → bytes) and its branches (name → commit)."""

    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def commit_of(self, revision: str) -> str | None:
        if revision in self.commits:
            return revision
        return self.branches.get(revision)


@dataclass
class StandinHub:
    """Repositories by id (`owner/name`) and raw files by path; `app()` serves them."""

    repos: dict[str, Repo] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    """Where it is served (set by whoever serves it)."""

    def put(self, repo_id: str, commit: str, files: dict[str, bytes], branch: str | None = "main") -> None:
        """Add a commit with its whole tree (and point `branch` at it)."""
        repo = self.repos.setdefault(repo_id, Repo())
        repo.commits[commit] = dict(files)
        if branch is not None:
            repo.branches[branch] = commit

    def copy(self) -> StandinHub:
        """Another hub with the same repositories (files are shared: bytes never change), no requests."""
        repos = {
            repo_id: Repo({c: dict(files) for c, files in repo.commits.items()}, dict(repo.branches))
            for repo_id, repo in self.repos.items()
        }
        return StandinHub(repos, dict(self.raw))

    def replace_file(self, repo_id: str, commit: str, path: str, content: bytes) -> None:
        """Change a file at a commit in place (what a rewritten history would serve)."""
        self.repos[repo_id].commits[commit][path] = content

    def downloaded(self, suffix: str = "") -> list[str]:
        """The paths fetched (GET) whose path ends with `suffix`."""
        return [path for method, path in self.requests if method == "GET" and path.endswith(suffix)]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/datasets/{owner}/{name}/resolve/{revision}/{path:.+}", self.resolve)  # + HEAD
        app.router.add_get("/api/datasets/{owner}/{name}/revision/{revision}", self.info)
        app.router.add_get("/raw/{path:.+}", self.raw_file)
        return app

    async def resolve(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        repo = self.repos.get(f"{request.match_info['owner']}/{request.match_info['name']}")
        if repo is None:
            return _missing("RepoNotFound", "Repository not found")
        commit = repo.commit_of(request.match_info["revision"])
        if commit is None:
            return _missing("RevisionNotFound", "Invalid rev id")
        content = repo.commits[commit].get(request.match_info["path"])
        if content is None:
            return _missing("EntryNotFound", "Entry not found")
        headers = {"X-Repo-Commit": commit, "Content-Length": str(len(content))}
        headers.update(_etag_headers(request.match_info["path"], content))
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers)
        return web.Response(status=200, body=content, headers=headers)

    async def info(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        repo_id = f"{request.match_info['owner']}/{request.match_info['name']}"
        repo = self.repos.get(repo_id)
        commit = None if repo is None else repo.commit_of(request.match_info["revision"])
        if repo is None or commit is None:
            return _missing("RevisionNotFound" if repo else "RepoNotFound", "not found")
        siblings = [{"rfilename": path} for path in sorted(repo.commits[commit])]
        return web.json_response({"id": repo_id, "sha": commit, "siblings": siblings, "private": False})

    async def raw_file(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        content = self.raw.get(request.match_info["path"])
        return web.Response(status=404) if content is None else web.Response(body=content)

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Serve on a free loopback port in a thread of its own (for a client in another process); the
        base URL while inside, stopped after."""
        ready = threading.Event()
        state: dict[str, object] = {}

        def run() -> None:
            loop = asyncio.new_event_loop()
            runner = web.AppRunner(self.app(), access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            state["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            state["loop"], state["stop"] = loop, asyncio.Event()
            ready.set()
            loop.run_until_complete(state["stop"].wait())  # type: ignore[attr-defined]
            loop.run_until_complete(runner.cleanup())
            loop.close()

        thread = threading.Thread(target=run, name="standin-hub", daemon=True)
        thread.start()
        if not ready.wait(10):
            raise RuntimeError("the stand-in hub did not start")
        try:
            yield f"http://127.0.0.1:{state['port']}"
        finally:
            loop = state["loop"]
            loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
            thread.join(10)


def _etag_headers(path: str, content: bytes) -> dict[str, str]:
    """What the hub says of a file: a Git LFS file's SHA-256 as its linked ETag, any other file's git blob
    hash as its ETag."""
    if path.endswith(".parquet") or len(content) >= LFS_MIN_BYTES:
        digest = hashlib.sha256(content).hexdigest()
        return {"ETag": f'"{digest}"', "X-Linked-Etag": f'"{digest}"', "X-Linked-Size": str(len(content))}
    blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # git's blob hash
    return {"ETag": f'"{blob}"'}


def _missing(code: str, message: str) -> web.Response:
    return web.json_response({"error": message}, status=404, headers={"X-Error-Code": code})
