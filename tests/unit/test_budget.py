"""The KV-cache budget comes from what the server reported before the preset's value (adapter knowledge)."""

from __future__ import annotations

from evalclient.engines import get_adapter

TGI_LOG = """2025-10-01T10:00:00Z  INFO text_generation_router: Warming up model
2025-10-01T10:00:09Z  INFO text_generation_router: Setting max batch total tokens to 215040
2025-10-01T10:00:09Z  INFO text_generation_router::server: Connected"""


def test_tgi_log_line_wins() -> None:
    assert get_adapter("tgi").kv_budget(TGI_LOG, {"max_batch_total_tokens": 5}, 32768) == 215040


def test_info_then_preset_then_none() -> None:
    tgi = get_adapter("tgi")
    assert tgi.kv_budget("", {"max_batch_total_tokens": 4096}, 32768) == 4096
    assert tgi.kv_budget("", {}, 32768) == 32768
    assert tgi.kv_budget("", {"max_batch_total_tokens": None}, None) is None


def test_other_engines_ignore_tgi_log_lines() -> None:
    assert get_adapter("vllm").kv_budget(TGI_LOG, {}, 1000) == 1000
    assert get_adapter("sglang").kv_budget("", {"max_total_num_tokens": 70000}, None) == 70000
