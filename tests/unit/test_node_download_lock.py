"""On a cluster node, a model not in the node's cache is downloaded by one deployment; the others wait."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from evalclient.cluster.forwarding import ForwardingView, Outbox
from evalclient.cluster.node import _DownloadLock, node_model_cache
from evalclient.config import load_config
from evalclient.deploy.model_cache import model_dir

ROOT = Path(__file__).resolve().parents[2]


def _job(cache: Path) -> Any:
    model = load_config(ROOT / "presets").models["qwen3_8b"]
    return SimpleNamespace(
        options=SimpleNamespace(model_cache=cache), deployment=SimpleNamespace(model=model)
    )


async def test_the_second_deployment_of_a_model_waits_until_the_first_has_it(tmp_path: Path) -> None:
    first, second = _DownloadLock(_job(tmp_path), tmp_path), _DownloadLock(_job(tmp_path), tmp_path)
    outbox = Outbox()
    await first.acquire(ForwardingView(outbox))
    waiting = asyncio.create_task(second.acquire(ForwardingView(outbox)))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    assert outbox.drain() == [("stage", "waiting: another deployment on this node is downloading the model")]
    first.release()
    await asyncio.wait_for(waiting, 5)
    second.release()


async def test_a_model_already_in_the_cache_takes_no_lock(tmp_path: Path) -> None:
    job = _job(tmp_path)
    (model_dir(tmp_path, job.deployment.model.hub_id) / "snapshots").mkdir(parents=True)
    first, second = _DownloadLock(job, tmp_path), _DownloadLock(job, tmp_path)
    await first.acquire(ForwardingView(Outbox()))
    await asyncio.wait_for(second.acquire(ForwardingView(Outbox())), 1)
    assert not (tmp_path / ".evalclient-locks").exists()


def test_the_node_cache_is_its_own_hf_home_where_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HOME", raising=False)
    assert node_model_cache(Path("/driver/hf")) == Path("/driver/hf")
    monkeypatch.setenv("HF_HOME", "/var/lib/evalclient/hf")
    assert node_model_cache(Path("/driver/hf")) == Path("/var/lib/evalclient/hf")
    assert node_model_cache(None) is None
