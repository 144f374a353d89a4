"""Where the suite's folders live: the user's model cache, host paths from inside the suite container, and
which containers a process in another PID namespace may judge."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evalclient.deploy.host_paths import Mount, host_path, own_container_id, require_same_paths
from evalclient.deploy.model_cache import cached_gb, has_token, model_dir, resolve_model_cache
from evalclient.deploy.ownership import PID_LABEL, PIDNS_LABEL, owner_alive, owner_labels, pid_namespace
from evalclient.errors import EnvironmentProblem

CID = "3f" * 32


def test_model_cache_is_the_option_then_hf_home_then_the_hub_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert resolve_model_cache(tmp_path / "given") == tmp_path / "given"
    assert (tmp_path / "given").is_dir()
    assert resolve_model_cache() == tmp_path / "hf"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_model_cache() == tmp_path / "home" / ".cache" / "huggingface"


def test_cached_weights_and_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = model_dir(tmp_path, "Qwen/Qwen3-8B") / "blobs"
    blobs.mkdir(parents=True)
    (blobs / "a").write_bytes(b"x" * 1000)
    assert model_dir(tmp_path, "Qwen/Qwen3-8B") == tmp_path / "hub" / "models--Qwen--Qwen3-8B"
    assert cached_gb(tmp_path, ["Qwen/Qwen3-8B", "Qwen/Qwen3-14B"]) == {
        "Qwen/Qwen3-8B": 1e-06,
        "Qwen/Qwen3-14B": 0.0,
    }
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    assert not has_token(tmp_path)
    (tmp_path / "token").write_text("hf_x")
    assert has_token(tmp_path)


def test_host_path_maps_through_the_longest_mount() -> None:
    mounts = [Mount("/srv/hf", "/root/.cache/huggingface"), Mount("/home/u", "/home/u"), Mount("", "/tmp")]
    assert host_path(Path("/root/.cache/huggingface/hub"), mounts) == "/srv/hf/hub"
    assert host_path(Path("/home/u/results"), mounts) == "/home/u/results"
    assert host_path(Path("/home/user2"), mounts) is None  # a prefix of a name is not a parent folder
    assert host_path(Path("/tmp/x"), mounts) is None  # a tmpfs has no host side
    assert host_path(Path("/opt"), mounts) is None


def test_own_container_id_from_mountinfo_or_cgroup(tmp_path: Path) -> None:
    root = "1 2 0:3 / / rw - overlay overlay rw\n"
    (tmp_path / "mountinfo").write_text(
        root + f"9 1 8:1 /var/lib/docker/containers/{CID}/hostname /etc/hostname rw\n"
    )
    assert own_container_id(tmp_path) == CID
    (tmp_path / "mountinfo").write_text("1 2 0:3 / / rw - overlay overlay rw\n")
    (tmp_path / "cgroup").write_text(f"0::/system.slice/docker-{CID}.scope\n")
    assert own_container_id(tmp_path) == CID
    (tmp_path / "cgroup").write_text("0::/\n")
    assert own_container_id(tmp_path) is None


class FakeApi:
    def __init__(self, mounts: list[dict[str, str]]) -> None:
        self.mounts = mounts

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        assert container_id == CID
        return {"Mounts": self.mounts}


class FakeClient:
    def __init__(self, mounts: list[dict[str, str]]) -> None:
        self.api = FakeApi(mounts)


def test_same_paths_inside_and_outside_or_a_one_line_fix() -> None:
    same = FakeClient(
        [{"Source": "/data/hf", "Destination": "/data/hf"}, {"Source": "/r", "Destination": "/r"}]
    )
    require_same_paths(same, {"model cache": Path("/data/hf"), "results folder": Path("/r/out")}, CID)
    moved = FakeClient([{"Source": "/home/u/.cache/huggingface", "Destination": "/root/.cache/huggingface"}])
    with pytest.raises(EnvironmentProblem) as raised:
        require_same_paths(moved, {"model cache": Path("/root/.cache/huggingface")}, CID)
    assert str(raised.value) == (
        "the model cache is /root/.cache/huggingface in the evalclient container but "
        "/home/u/.cache/huggingface on the host; engine containers would mount the host's "
        "/root/.cache/huggingface; mount it at the same path: -v "
        "/home/u/.cache/huggingface:/home/u/.cache/huggingface, and use /home/u/.cache/huggingface inside too"
    )
    with pytest.raises(EnvironmentProblem) as raised:
        require_same_paths(FakeClient([]), {"results folder": Path("/work/results")}, CID)
    assert str(raised.value) == (
        "the results folder /work/results is inside the evalclient container, not on the host, so engine "
        "containers cannot share it; mount a host folder at the same path (docker run -v "
        "/work/results:/work/results; compose/docker-compose.yml does this)"
    )
    require_same_paths(FakeClient([]), {"model cache": None}, CID)  # nothing mounted: nothing to check


def test_only_a_process_of_the_same_pid_namespace_judges_an_owner() -> None:
    mine = owner_labels("run-1")
    assert mine[PIDNS_LABEL] == pid_namespace()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = {**mine, PID_LABEL: str(dead.pid)}
    assert not owner_alive(gone)
    assert owner_alive({**gone, PIDNS_LABEL: "pid:[4026532999]"})  # the suite in a container: not ours
    legacy = {k: v for k, v in gone.items() if k != PIDNS_LABEL}
    assert owner_alive(legacy) is (pid_namespace() != "pid:[4026531836]")
