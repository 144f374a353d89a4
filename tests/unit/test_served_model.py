"""Labels that are what was served: the server's own model id and commit are recorded, another model than the
one asked for is flagged, and the fingerprint follows the commit the revision resolved to."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evalclient.config import load_config
from evalclient.deploy.model_cache import model_dir
from evalclient.planning.plan import build_plan
from evalclient.report import build_reports
from evalclient.sim.rules import load_rules
from evalclient.sweep.demo import demo_data_dir
from evalclient.sweep.runner import EvaluationRunner, RunOptions
from evalclient.sweep.served_model import ServedModel, cached_commit, served_model

CONFIG = load_config(Path(__file__).resolve().parents[2] / "presets")
QWEN = "Qwen/Qwen2.5-7B-Instruct"
RECORD = "metrics/detailed/qwen2.5_8b_balanced_gsm8k.json"


@pytest.fixture
def sim(start_sim: Callable[..., Any]) -> Callable[..., Any]:
    rules = load_rules(demo_data_dir().parent / "demo_rules.yaml")
    return lambda **kw: start_sim(rules, **{"model_id": QWEN, **kw})


def _runner(endpoint: str, out: Path, **kw: Any) -> EvaluationRunner:
    plan = build_plan(CONFIG, models=["qwen2.5_8b"], presets=["balanced"], datasets=("gsm8k",), samples=3,
                      engine="tgi", image=None)  # fmt: skip
    options = RunOptions(output=out, endpoint=endpoint, data_dir=demo_data_dir(), **kw)
    return EvaluationRunner(CONFIG, plan, options)


async def test_another_served_model_is_recorded_as_itself_and_flagged(
    sim: Callable[..., Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = await sim(model_id="bigscience/bloom-560m")
    with caplog.at_level(logging.WARNING, logger="evalclient"):
        summary = await _runner(url, tmp_path).run()
    assert [o.status for o in summary.outcomes] == ["complete"]
    record = json.loads((tmp_path / RECORD).read_text())
    assert (record["model"], record["model_id"]) == ("qwen2.5_8b", "bigscience/bloom-560m")
    assert record["provenance"]["served_model"] == {
        "model_id": "bigscience/bloom-560m",
        "revision": None,
        "matches": False,
    }
    assert (
        "qwen2.5_8b_balanced: the server serves bigscience/bloom-560m, not Qwen/Qwen2.5-7B-Instruct: its "
        "results are recorded as bigscience/bloom-560m's" in caplog.text
    )
    build_reports(tmp_path, {})
    summary = pd.read_csv(tmp_path / "metrics/aggregated/summary.csv")
    assert "another model served: the server served bigscience/bloom-560m" in summary.loc[0, "flags"]
    assert not summary.loc[0, "ranked"]


async def test_the_fingerprint_follows_the_served_commit(sim: Callable[..., Any], tmp_path: Path) -> None:
    first, second = "a" * 40, "b" * 40
    url = await sim(revision=first)
    summary = await _runner(url, tmp_path).run()
    assert [o.status for o in summary.outcomes] == ["complete"]
    record = json.loads((tmp_path / RECORD).read_text())
    assert (record["model_id"], record["model_revision"]) == (QWEN, first)
    assert record["provenance"]["served_model"] == {"model_id": QWEN, "revision": first, "matches": True}
    again = await _runner(url, tmp_path).run()
    assert [o.status for o in again.outcomes] == ["skipped"]  # the same weights: nothing to ask again
    changed = await _runner(await sim(revision=second), tmp_path).run()
    assert [o.status for o in changed.outcomes] == ["complete"]  # new weights upstream: answered anew
    assert json.loads((tmp_path / RECORD).read_text())["model_revision"] == second


def test_the_model_cache_ref_resolves_a_branch(tmp_path: Path) -> None:
    ref = model_dir(tmp_path, QWEN) / "refs" / "main"
    assert cached_commit(tmp_path, QWEN, "main") is None  # never downloaded: the branch name stays
    ref.parent.mkdir(parents=True)
    ref.write_text("c" * 40)
    assert cached_commit(tmp_path, QWEN, "main") == "c" * 40
    assert cached_commit(tmp_path, QWEN, "d" * 40) == "d" * 40  # a commit is itself
    ref.write_text("not a commit")
    assert cached_commit(tmp_path, QWEN, "main") is None


@pytest.mark.parametrize(
    ("info", "served"),
    [
        ({"model_id": QWEN, "model_sha": "d" * 40}, ServedModel(QWEN, "d" * 40)),  # TGI /info
        ({"model_id": QWEN, "model_sha": None}, ServedModel(QWEN, None)),
        ({"object": "list", "data": [{"id": "served", "root": QWEN}]}, ServedModel(QWEN, None)),  # vLLM
        ({"model_path": QWEN, "revision": "main"}, ServedModel(QWEN, None)),  # SGLang /server_info
        ({"model_path": QWEN, "revision": "e" * 40}, ServedModel(QWEN, "e" * 40)),
        ({}, ServedModel(None, None)),
    ],
)
def test_each_engines_info_names_its_model(info: dict[str, Any], served: ServedModel) -> None:
    assert served_model(info) == served


def test_a_cached_path_is_the_same_model() -> None:
    path = "/data/hub/models--Qwen--Qwen2.5-7B-Instruct/snapshots/" + "f" * 40
    assert ServedModel(path, None).matches(QWEN) is True
    assert ServedModel("/models/Qwen/Qwen2.5-7B-Instruct", None).matches(QWEN) is True
    assert ServedModel("Qwen/Qwen2.5-14B-Instruct", None).matches(QWEN) is False
    assert ServedModel(None, None).matches(QWEN) is None
