"""The Hugging Face token reaches an engine container only for a gated model, and only as a file in the
container's own filesystem: never in its configuration (environment, command), nor in a mounted host folder,
the plan, or the provenance."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from evalclient.config import ModelSpec, load_config
from evalclient.deploy.deployment import Deployment
from evalclient.deploy.docker_engine import DockerEngine
from evalclient.deploy.model_cache import hub_token
from evalclient.engines import get_adapter
from evalclient.engines.base import LaunchSpec
from evalclient.errors import EngineError, EnvironmentProblem
from evalclient.planning.json_view import plan_document
from evalclient.planning.plan import build_plan
from evalclient.planning.slots import virtual_pool

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
SECRET = "hf_secret_from_env"
SAVED = "hf_secret_saved_login"
HOME = {"tgi": "/data", "vllm": "/root/.cache/huggingface", "sglang": "/root/.cache/huggingface"}


class FakeImage:
    def __init__(self) -> None:
        self.id = "sha256:image"
        self.attrs: dict[str, Any] = {"RepoDigests": []}


class FakeContainer:
    def __init__(self, name: str, fail_copy: bool) -> None:
        self.id = f"id-{name}"
        self.name = name
        self.image = FakeImage()
        self.fail_copy = fail_copy
        self.archives: list[tuple[str, bytes]] = []
        self.removed = False

    def put_archive(self, path: str, data: bytes) -> bool:
        if self.fail_copy:
            raise docker.errors.APIError("copy refused", explanation="copying is not allowed here")
        self.archives.append((path, data))
        return True

    def remove(self, force: bool, v: bool) -> None:
        self.removed = True


class FakeContainers:
    def __init__(self, fail_copy: bool = False) -> None:
        self.created: list[tuple[str, list[str], dict[str, Any]]] = []
        self.made: list[FakeContainer] = []
        self.fail_copy = fail_copy

    def create(self, image: str, command: list[str], **kwargs: Any) -> FakeContainer:
        self.created.append((image, command, kwargs))
        self.made.append(FakeContainer(kwargs["name"], self.fail_copy))
        return self.made[-1]


class FakeClient:
    def __init__(self, fail_copy: bool = False) -> None:
        self.containers = FakeContainers(fail_copy)


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host with HF_TOKEN set and a saved login (token, stored_tokens) in its Hugging Face cache."""
    for name in ("HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    cache = tmp_path / "hf"
    cache.mkdir()
    (cache / "token").write_text(SAVED)
    (cache / "stored_tokens").write_text(f"[default]\nhf_token = {SAVED}\n")
    return cache


def _model(gated: bool) -> ModelSpec:
    return CONFIG.model("qwen3_8b").model_copy(update={"gated": gated})


def _spec(engine: str, gated: bool) -> LaunchSpec:
    return get_adapter(engine).launch_spec(_model(gated), CONFIG.preset("balanced"), port=8080)


def _create(client: FakeClient, spec: LaunchSpec, cache: Path) -> Any:
    labels = {"evalclient.run_id": "r"}
    return DockerEngine(client).create(spec, name="evalclient-x", labels=labels, gpus=None, cache_dir=cache)


def _files(archive: bytes) -> dict[str, tuple[bytes, int, int, int]]:
    """Each file of a tar: (content, mode, uid, gid)."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            content = tar.extractfile(member)
            assert content is not None
            files[member.name] = (content.read(), member.mode, member.uid, member.gid)
    return files


@pytest.mark.parametrize("engine", ["tgi", "vllm", "sglang"])
@pytest.mark.parametrize("gated", [False, True])
def test_no_container_has_the_token_in_its_configuration(host: Path, engine: str, gated: bool) -> None:
    client = FakeClient()
    running = _create(client, _spec(engine, gated), host)
    [(image, command, kwargs)] = client.containers.created
    configuration = repr((image, command, kwargs))
    assert (SECRET in configuration, SAVED in configuration) == (False, False)
    assert not {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN"} & set(kwargs["environment"])
    provenance = json.dumps(Deployment("http://127.0.0.1:8080", running).provenance())
    assert (SECRET in provenance, SAVED in provenance) == (False, False)


@pytest.mark.parametrize("engine", ["tgi", "vllm", "sglang"])
def test_only_a_gated_model_gets_the_token_as_a_file_at_its_token_path(host: Path, engine: str) -> None:
    plain, gated = FakeClient(), FakeClient()
    _create(plain, _spec(engine, False), host)
    _create(gated, _spec(engine, True), host)
    assert plain.containers.made[0].archives == []
    assert plain.containers.created[0][2]["environment"] == {}
    [(where, archive)] = gated.containers.made[0].archives
    token_path = HOME[engine] + "/token"
    assert (where, _files(archive)) == ("/", {token_path[1:]: (SECRET.encode(), 0o440, 0, 0)})
    assert gated.containers.created[0][2]["environment"] == {"HF_TOKEN_PATH": token_path}


def test_the_saved_login_is_given_when_no_token_is_in_the_environment(
    host: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN")
    client = FakeClient()
    _create(client, _spec("tgi", True), host)
    [(_, archive)] = client.containers.made[0].archives
    assert _files(archive) == {"data/token": (SAVED.encode(), 0o440, 0, 0)}


@pytest.mark.parametrize("engine", ["tgi", "vllm", "sglang"])
@pytest.mark.parametrize("gated", [False, True])
def test_only_the_caches_hub_folder_is_mounted(host: Path, engine: str, gated: bool) -> None:
    client = FakeClient()
    _create(client, _spec(engine, gated), host)
    kwargs = client.containers.created[0][2]
    assert kwargs["volumes"] == {str(host / "hub"): {"bind": HOME[engine] + "/hub", "mode": "rw"}}
    assert (host / "hub").is_dir()
    assert (kwargs["network_mode"], kwargs["labels"]["evalclient.managed"]) == ("host", "true")


def test_a_gated_model_without_a_token_creates_nothing(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN")
    (host / "token").write_text("\n")  # an empty saved login is no token, as huggingface_hub reads it
    client = FakeClient()
    with pytest.raises(EnvironmentProblem) as caught:
        _create(client, _spec("tgi", True), host)
    assert str(caught.value) == (
        f"Qwen/Qwen3-8B is gated and no Hugging Face token is set (HF_TOKEN, HUGGING_FACE_HUB_TOKEN and "
        f"{host / 'token'} are empty or absent); accept the model's terms on its hub page, then "
        "`export HF_TOKEN=hf_...` (or `hf auth login`); with its weights already in the cache, "
        "HF_HUB_OFFLINE=1 needs none"
    )
    assert client.containers.created == []


def test_offline_a_gated_model_gets_no_token(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    client = FakeClient()
    _create(client, _spec("vllm", True), host)
    assert client.containers.made[0].archives == []
    assert client.containers.created[0][2]["environment"] == {"HF_HUB_OFFLINE": "1"}


def test_a_token_that_cannot_be_copied_removes_the_container(host: Path) -> None:
    client = FakeClient(fail_copy=True)
    with pytest.raises(EngineError) as caught:
        _create(client, _spec("tgi", True), host)
    assert str(caught.value) == (
        "could not give evalclient-x the Hugging Face token for Qwen/Qwen3-8B at /data/token: copying is not "
        "allowed here; check that the Docker engine allows copying files into containers (docker cp)"
    )
    assert client.containers.made[0].removed


def test_the_token_is_read_as_huggingface_hub_reads_it(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub_token(host) == SECRET
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", " hf_old_name\n")
    assert hub_token(host) == "hf_old_name"
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN")
    assert hub_token(host) == SAVED
    elsewhere = host.parent / "elsewhere"
    elsewhere.write_text("hf_from_token_path\r\n")
    monkeypatch.setenv("HF_TOKEN_PATH", str(elsewhere))
    assert hub_token(host) == "hf_from_token_path"
    elsewhere.unlink()
    assert hub_token(host) is None


def test_the_plan_json_names_the_token_file_for_gated_models_only(host: Path) -> None:
    models = {**CONFIG.models, "qwen3_8b": _model(True)}
    config = CONFIG.model_copy(update={"models": models})
    plan = build_plan(
        config,
        models=["qwen3_8b", "qwen3_14b"],
        presets=["balanced"],
        datasets=["gsm8k"],
        samples=None,
        engine="tgi",
        image=None,
    )
    pool = virtual_pool("virtual:1x80@9.0")
    assert pool is not None
    document = plan_document(plan, pool)
    text = json.dumps(document)
    assert (SECRET in text, SAVED in text) == (False, False)
    environments = {d["model"]: d["environment"] for d in document["deployments"]}
    assert environments == {"qwen3_8b": {"HF_TOKEN_PATH": "/data/token"}, "qwen3_14b": {}}
