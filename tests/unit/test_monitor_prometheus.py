"""The Prometheus text parser on exposition text written the way TGI, vLLM and SGLang write it."""

from __future__ import annotations

import math

from evalclient.monitor.prometheus import parse_exposition

# TGI's router (metrics-exporter-prometheus): TYPE lines, no HELP, unlabelled gauges, histograms, a summary.
TGI_TEXT = """\
# TYPE tgi_request_count counter
tgi_request_count 1289

# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 12

# TYPE tgi_batch_current_max_tokens gauge
tgi_batch_current_max_tokens 9216

# TYPE tgi_queue_size gauge
tgi_queue_size 3

# TYPE tgi_request_input_length histogram
tgi_request_input_length_bucket{le="64"} 100
tgi_request_input_length_bucket{le="256"} 900
tgi_request_input_length_bucket{le="1024"} 1280
tgi_request_input_length_bucket{le="+Inf"} 1289
tgi_request_input_length_sum 412480
tgi_request_input_length_count 1289

# TYPE tgi_request_generated_tokens histogram
tgi_request_generated_tokens_bucket{le="+Inf"} 1289
tgi_request_generated_tokens_sum 165000
tgi_request_generated_tokens_count 1289

# TYPE tgi_batch_inference_duration histogram
tgi_batch_inference_duration_bucket{method="decode",le="0.005"} 10
tgi_batch_inference_duration_bucket{method="decode",le="0.05"} 3900
tgi_batch_inference_duration_bucket{method="decode",le="+Inf"} 4000
tgi_batch_inference_duration_sum{method="decode"} 80.5
tgi_batch_inference_duration_count{method="decode"} 4000
tgi_batch_inference_duration_bucket{method="prefill",le="0.005"} 0
tgi_batch_inference_duration_bucket{method="prefill",le="+Inf"} 700
tgi_batch_inference_duration_sum{method="prefill"} 21.25
tgi_batch_inference_duration_count{method="prefill"} 700

# TYPE tgi_request_mean_time_per_token_duration summary
tgi_request_mean_time_per_token_duration{quantile="0.5"} 0.021
tgi_request_mean_time_per_token_duration{quantile="0.99"} 0.048
tgi_request_mean_time_per_token_duration_sum 27.4
tgi_request_mean_time_per_token_duration_count 1289
"""

# vLLM (prometheus_client): HELP + TYPE, labelled series, `_total` counters with `_created`, floats.
VLLM_TEXT = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 7.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 2.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 0.4125
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 1.234567e+06
# HELP vllm:prompt_tokens_created Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_created gauge
vllm:prompt_tokens_created{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 1.7461e+09
# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 655.25
vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3",model_name="Qwen/Qwen2.5-7B-Instruct"} 5.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="Qwen/Qwen2.5-7B-Instruct"} 400.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="Qwen/Qwen2.5-7B-Instruct"} 1289.0
vllm:e2e_request_latency_seconds_count{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 1289.0
# HELP vllm:spec_decode_draft_acceptance_rate Speculative token acceptance rate.
# TYPE vllm:spec_decode_draft_acceptance_rate gauge
vllm:spec_decode_draft_acceptance_rate{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} NaN
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",note="a \\"quoted\\" path C:\\\\cache\\nline two",} 1.0
"""


def test_tgi_gauges_and_types() -> None:
    exp = parse_exposition(TGI_TEXT)
    assert exp.malformed == []
    assert exp.values("tgi_batch_current_size") == [12.0]
    assert exp.values("tgi_batch_current_max_tokens") == [9216.0]
    assert exp.values("tgi_queue_size") == [3.0]
    assert exp.types["tgi_request_input_length"] == "histogram"
    assert exp.types["tgi_request_mean_time_per_token_duration"] == "summary"
    assert exp.help == {}


def test_tgi_histogram_family_and_sum() -> None:
    exp = parse_exposition(TGI_TEXT)
    hist = exp.histogram("tgi_request_input_length")
    assert hist is not None
    assert hist.buckets == ((64.0, 100.0), (256.0, 900.0), (1024.0, 1280.0), (math.inf, 1289.0))
    assert (hist.sum, hist.count) == (412480.0, 1289.0)
    assert exp.family_of("tgi_request_input_length_bucket") == "tgi_request_input_length"
    assert len(exp.family("tgi_request_input_length")) == 6


def test_histogram_selected_by_label() -> None:
    exp = parse_exposition(TGI_TEXT)
    decode = exp.histogram("tgi_batch_inference_duration", {"method": "decode"})
    prefill = exp.histogram("tgi_batch_inference_duration", {"method": "prefill"})
    assert decode is not None
    assert prefill is not None
    assert decode.buckets[-1] == (math.inf, 4000.0)
    assert (decode.sum, prefill.sum, prefill.count) == (80.5, 21.25, 700.0)
    assert exp.histogram("not_there") is None


def test_summary_quantiles_keep_their_labels() -> None:
    exp = parse_exposition(TGI_TEXT)
    series = exp.series("tgi_request_mean_time_per_token_duration")
    assert [(s.labels["quantile"], s.value) for s in series] == [("0.5", 0.021), ("0.99", 0.048)]
    assert (
        exp.family_of("tgi_request_mean_time_per_token_duration_sum")
        == "tgi_request_mean_time_per_token_duration"
    )


def test_vllm_labelled_series_help_and_counters() -> None:
    exp = parse_exposition(VLLM_TEXT)
    assert exp.malformed == []
    running = exp.series("vllm:num_requests_running")[0]
    assert running.labels == {"engine": "0", "model_name": "Qwen/Qwen2.5-7B-Instruct"}
    assert running.value == 7.0
    assert exp.values("vllm:prompt_tokens_total") == [1234567.0]
    assert exp.types["vllm:prompt_tokens_total"] == "counter"
    assert exp.help["vllm:kv_cache_usage_perc"] == "KV-cache usage. 1 means 100 percent usage."
    assert exp.values("vllm:kv_cache_usage_perc", {"engine": "0"}) == [0.4125]
    assert exp.values("vllm:kv_cache_usage_perc", {"engine": "1"}) == []


def test_vllm_histogram_with_le_between_labels() -> None:
    exp = parse_exposition(VLLM_TEXT)
    hist = exp.histogram("vllm:e2e_request_latency_seconds", {"model_name": "Qwen/Qwen2.5-7B-Instruct"})
    assert hist is not None
    assert hist.buckets == ((0.3, 5.0), (1.0, 400.0), (math.inf, 1289.0))
    assert (hist.sum, hist.count) == (655.25, 1289.0)


def test_nan_and_escaped_label_values() -> None:
    exp = parse_exposition(VLLM_TEXT)
    assert math.isnan(exp.values("vllm:spec_decode_draft_acceptance_rate")[0])
    info = exp.series("vllm:cache_config_info")[0]
    assert info.labels["note"] == 'a "quoted" path C:\\cache\nline two'
    assert info.labels["block_size"] == "16"


def test_infinities_timestamps_exemplars_and_spacing() -> None:
    text = (
        "up_high +Inf\n"
        "down_low -Inf 1700000000000\n"
        'spaced { a = "1" , b="x,y}" } 2.5e-3\n'
        'req_bucket{le="0.1"} 3 # {trace_id="abc"} 0.05 1700000000.1\n'
        "# a free comment line\n"
        "tab_separated\t42\n"
    )
    exp = parse_exposition(text)
    assert exp.malformed == []
    assert exp.values("up_high") == [math.inf]
    assert exp.series("down_low")[0].value == -math.inf
    assert exp.series("down_low")[0].timestamp_ms == 1700000000000
    assert exp.series("spaced")[0].labels == {"a": "1", "b": "x,y}"}
    assert exp.values("spaced") == [0.0025]
    assert exp.values("req_bucket") == [3.0]
    assert exp.values("tab_separated") == [42.0]


def test_malformed_lines_are_skipped_and_noted() -> None:
    text = (
        'good 1\nbad{a="1" 2\n9starts_with_digit 3\nno_value\nworse{a=1} 4\nnot_a_number abc\nalso_good 5\n'
    )
    exp = parse_exposition(text)
    assert exp.values("good") == [1.0]
    assert exp.values("also_good") == [5.0]
    assert [line for line, _ in exp.malformed] == [2, 3, 4, 5, 6]


def test_openmetrics_eof_ends_parsing() -> None:
    exp = parse_exposition("# TYPE a gauge\na 1\n# EOF\nb 2\n")
    assert exp.values("a") == [1.0]
    assert exp.values("b") == []


def test_help_escapes() -> None:
    exp = parse_exposition("# HELP x A help with a \\\\ backslash\\nand a newline\n# TYPE x gauge\nx 0\n")
    assert exp.help["x"] == "A help with a \\ backslash\nand a newline"


def test_only_prefilters_samples_but_keeps_types() -> None:
    exp = parse_exposition(VLLM_TEXT, only=("vllm:num_requests_running", "vllm:kv_cache_usage_perc"))
    assert {s.name for s in exp.samples} == {"vllm:num_requests_running", "vllm:kv_cache_usage_perc"}
    assert exp.types["vllm:e2e_request_latency_seconds"] == "histogram"
