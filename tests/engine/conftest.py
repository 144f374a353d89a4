"""The engine tier: llama.cpp's real `llama-server`, built on CPU from the vendored source of a pinned
llama-cpp-python sdist (`make llama-server`), serving a tiny Qwen2-architecture model written at test time.

The binary is looked for in EVALCLIENT_LLAMA_SERVER, else in `.cache/llama.cpp/bin/llama-server` (where the
Makefile puts it); without it the tier is skipped with the reason, except where EVALCLIENT_REQUIRE_ENGINE=1.
The vocabulary comes from the same sdist (`models/ggml-vocab-qwen2.gguf`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "llama.cpp"
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "unit"))


def _need(what: str) -> None:
    if os.environ.get("EVALCLIENT_REQUIRE_ENGINE") == "1":
        pytest.fail(f"EVALCLIENT_REQUIRE_ENGINE=1 but {what}")
    pytest.skip(what)


@pytest.fixture(scope="session")
def llama_server_bin() -> Path:
    path = Path(os.environ.get("EVALCLIENT_LLAMA_SERVER") or CACHE / "bin" / "llama-server")
    if not path.is_file():
        _need(f"no llama-server at {path} (run `make llama-server`)")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_model import write_tiny_qwen2

    vocab = CACHE / "ggml-vocab-qwen2.gguf"
    if not vocab.is_file():
        _need(f"no Qwen2 vocabulary at {vocab} (run `make llama-server`)")
    return write_tiny_qwen2(vocab, tmp_path_factory.mktemp("model") / "tiny-qwen2.gguf")


@pytest.fixture
def llama_server(llama_server_bin: Path, tiny_model: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A running llama-server on a free port of 127.0.0.1 (2 slots, metrics and Jinja templates on)."""
    from free_port import free_port

    port = free_port()
    command = [str(llama_server_bin), "-m", str(tiny_model), "--host", "127.0.0.1", "--port", str(port),
               "-c", "2048", "-np", "2", "--metrics", "--jinja", "-t", "1"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"llama-server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("llama-server did not become healthy")
