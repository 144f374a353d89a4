"""Configuration loading: the shipped presets validate; bad files are rejected naming file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalclient.config import load_config, resolve_names
from evalclient.errors import ConfigError, UsageError

PRESETS = Path(__file__).resolve().parents[2] / "presets"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "presets"
    shutil.copytree(PRESETS, target)
    return target


def test_shipped_configuration_loads() -> None:
    config = load_config(PRESETS)
    assert set(config.presets) == {"balanced", "performance", "memory_optimized"}
    assert list(config.models) == [
        "qwen2.5_8b",
        "qwen3_8b",
        "qwen_8b",
        "qwen2.5_14b",
        "qwen3_14b",
        "qwen_14b",
    ]
    assert config.models["qwen3_8b"].hub_id == "Qwen/Qwen3-8B"
    assert config.sweep.datasets["humaneval"] == 164
    assert config.sweep.datasets["mt_bench"] == 160
    assert config.sweep.datasets["bfcl"] == 200
    assert config.sweep.datasets["gsm8k"] == 150
    assert len(config.sweep.datasets) == 12


def test_unknown_key_names_file_and_field(config_dir: Path) -> None:
    path = config_dir / "balanced.yaml"
    path.write_text(path.read_text() + "max_batch_sise: 4\n")
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    assert "balanced.yaml" in str(info.value)
    assert "'max_batch_sise': unknown field" in str(info.value)


def test_bad_value_names_file_and_field(config_dir: Path) -> None:
    path = config_dir / "performance.yaml"
    path.write_text(path.read_text().replace("quantize: null", "quantize: int3"))
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    assert "performance.yaml: field 'quantize'" in str(info.value)


def test_inconsistent_limits_rejected(config_dir: Path) -> None:
    path = config_dir / "balanced.yaml"
    path.write_text(path.read_text().replace("max_input_tokens: 8191", "max_input_tokens: 9000"))
    with pytest.raises(ConfigError, match="max_input_tokens must be smaller than max_total_tokens"):
        load_config(config_dir)


def test_bad_model_field_is_located(config_dir: Path) -> None:
    path = config_dir / "models.yaml"
    path.write_text(
        path.read_text().replace("size_class: 14b\n    params_b: 14.8", "size_class: 13b\n    params_b: 14.8")
    )
    with pytest.raises(ConfigError, match=r"models.yaml: field 'models.qwen3_14b.size_class'"):
        load_config(config_dir)


def test_sweep_naming_unknown_preset(config_dir: Path) -> None:
    path = config_dir / "sweep.yaml"
    path.write_text(path.read_text().replace("memory_optimized]", "turbo]"))
    with pytest.raises(ConfigError, match=r"sweep.yaml: field 'presets': unknown turbo"):
        load_config(config_dir)


def test_yaml_syntax_error_gives_line(config_dir: Path) -> None:
    (config_dir / "balanced.yaml").write_text("name: balanced\ndtype: [bfloat16\n")
    with pytest.raises(ConfigError, match=r"balanced.yaml \(line \d+\): not valid YAML"):
        load_config(config_dir)


def test_preset_name_must_match_file(config_dir: Path) -> None:
    path = config_dir / "balanced.yaml"
    path.write_text(path.read_text().replace("name: balanced", "name: fast"))
    with pytest.raises(ConfigError, match="does not match the file name"):
        load_config(config_dir)


def test_resolve_names_lists_valid_ones() -> None:
    assert resolve_names("a,c", ["a", "b", "c"], "model") == ("a", "c")
    assert resolve_names(None, ["a", "b"], "model") == ("a", "b")
    with pytest.raises(UsageError) as info:
        resolve_names("a,zz", ["a", "b"], "model")
    assert str(info.value) == "unknown model zz; valid models: a, b"


def test_a_kv_cache_format_is_named_engine_neutrally(config_dir: Path) -> None:
    path = config_dir / "memory_optimized.yaml"
    path.write_text(path.read_text().replace("kv_cache_dtype: fp8_e4m3", "kv_cache_dtype: fp8_e4m3fn"))
    with pytest.raises(ConfigError, match=r"memory_optimized.yaml: field 'kv_cache_dtype': Input should be"):
        load_config(config_dir)


def test_a_route_names_a_known_model_and_engine(config_dir: Path) -> None:
    path = config_dir / "sweep.yaml"
    text = path.read_text()
    path.write_text(text.replace("    qwen_8b: {kind: vllm", "    qwen9_8b: {kind: vllm"))
    with pytest.raises(ConfigError, match=r"sweep.yaml: field 'engine.models': unknown qwen9_8b"):
        load_config(config_dir)
    path.write_text(text.replace("qwen_8b: {kind: vllm", "qwen_8b: {kind: trtllm"))
    with pytest.raises(
        ConfigError, match=r"sweep.yaml: field 'engine.models.qwen_8b.kind': .*unknown engine"
    ):
        load_config(config_dir)


def test_models_know_their_architecture_and_end_of_turn_tokens() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "presets")
    assert {m.key: m.architecture for m in config.models.values()} == {
        "qwen2.5_8b": "Qwen2ForCausalLM",
        "qwen3_8b": "Qwen3ForCausalLM",
        "qwen_8b": "QWenLMHeadModel",
        "qwen2.5_14b": "Qwen2ForCausalLM",
        "qwen3_14b": "Qwen3ForCausalLM",
        "qwen_14b": "QWenLMHeadModel",
    }
    assert config.model("qwen_8b").stop_token_ids == (151643, 151644, 151645)
    assert config.model("qwen3_8b").stop_token_ids == ()
    routed = config.sweep.engine.models["qwen_14b"]
    assert (routed.kind, routed.image) == ("vllm", "vllm/vllm-openai:v0.21.0-cu129")
