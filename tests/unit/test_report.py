"""`evalclient report` on the synthetic tree of report_tree.py: every number worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from report_tree import build_other_image, build_tree, gsm8k_verdicts, write_combination

from evalclient.cli import cli
from evalclient.errors import ResultsError
from evalclient.report import ModelInfo, Reports, build_reports
from evalclient.report.document import Table
from evalclient.report.tree import load_tree
from evalclient.results import ResultsOrganizer

MODELS = {"qwen2.5_8b": ModelInfo("qwen2.5", "8b", 7.6), "qwen2.5_14b": ModelInfo("qwen2.5", "14b", 14.7)}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """Built once for the module: the tests only read it."""
    base = tmp_path_factory.mktemp("report")
    return build_reports(build_tree(base / "run"), MODELS, [build_other_image(base / "vllm")])


def table(reports: Reports, title: str) -> Table:
    tables = [
        b for s in reports.sections for b in s.blocks if isinstance(b, Table) and b.title.startswith(title)
    ]
    assert len(tables) == 1, f"one table titled {title!r}"
    return tables[0]


def rows(reports: Reports, title: str) -> list[tuple[str, ...]]:
    return list(table(reports, title).rows)


def test_the_tree_knows_what_is_missing(tmp_path: Path) -> None:
    tree = load_tree(build_tree(tmp_path))
    statuses = {"/".join(k): c.status for k, c in tree.combinations.items() if c.status != "complete"}
    assert statuses == {
        "qwen2.5_14b/performance/gsm8k": "partial",
        "qwen2.5_14b/performance/arc_challenge": "failed",
        "qwen2.5_14b/performance/truthfulqa": "missing",
    }
    assert len(tree.combinations) == 15
    assert tree.run_status == "interrupted"
    assert tree.presets == ["balanced", "performance", "memory_optimized"]
    assert tree.datasets == ["gsm8k", "arc_challenge", "truthfulqa"]


def test_summary_has_a_row_per_combination_with_status_and_provenance(reports: Reports) -> None:
    base = reports.tree.base_dir / "metrics" / "aggregated"
    frame = pd.read_csv(base / "summary.csv")
    assert frame.equals(frame)  # readable
    parquet = pd.read_parquet(base / "summary.parquet")
    assert parquet.shape == frame.shape
    assert len(frame) == 15
    by_key = frame.set_index(["model", "preset", "dataset"])
    row = by_key.loc[("qwen2.5_8b", "balanced", "gsm8k")]
    assert (row["status"], row["score_name"], row["score"], row["num_samples"]) == (
        "complete",
        "accuracy",
        0.7,
        20,
    )
    assert row["throughput_tokens_per_second"] == 100.0
    assert row["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.5"
    assert row["flags_command"] == "--model-id x --dtype bfloat16"
    assert row["family"] == "reasoning"
    assert bool(row["ranked"]) is True
    arc = by_key.loc[("qwen2.5_8b", "balanced", "arc_challenge")]
    assert (arc["score_name"], arc["score"], arc["metric.acc_norm"], arc["metric.mode"]) == (
        "acc_norm",
        0.5,
        0.5,
        "loglikelihood",
    )
    failed = by_key.loc[("qwen2.5_14b", "performance", "arc_challenge")]
    assert failed["status"] == "failed"
    assert failed["reason"] == "the log-likelihood probe failed: the server returned no prompt logprobs"
    assert pd.isna(failed["score"])  # never a zero
    missing = by_key.loc[("qwen2.5_14b", "performance", "truthfulqa")]
    assert (missing["status"], pd.isna(missing["score"])) == ("missing", True)
    partial = by_key.loc[("qwen2.5_14b", "performance", "gsm8k")]
    assert (partial["status"], partial["score"], partial["num_errors"], partial["num_request_errors"]) == (
        "partial",
        0.6,
        2,
        2,
    )
    assert (
        partial["flags"]
        == "partial: 2 of 20 samples failed; errors: request error rate 10.0% (2 of 20 requests)"
    )


def test_status_lists_what_is_missing_and_the_flags(reports: Reports) -> None:
    head = reports.sections[0]
    assert head.title == "Run status and sanity flags"
    texts = [b.text for b in head.blocks if not isinstance(b, Table)]
    assert texts[0] == (
        "Run run-2 (tgi, started 2025-01-01T00:00:00+00:00): interrupted. 15 combinations: 12 complete, "
        "1 partial, 1 failed, 1 missing."
    )
    assert "1 of the plan are missing" in texts[1]
    assert rows(reports, "Combinations that are not complete") == [
        ("qwen2.5_14b/performance/gsm8k", "partial", "2 of 20 samples failed"),
        (
            "qwen2.5_14b/performance/arc_challenge",
            "failed",
            "the log-likelihood probe failed: the server returned no prompt logprobs",
        ),
        ("qwen2.5_14b/performance/truthfulqa", "missing", "not run: the run was interrupted before it"),
    ]
    assert rows(reports, "Sanity flags") == [
        (
            "at chance",
            "qwen2.5_14b/balanced/arc_challenge",
            "accuracy 0.250 ≤ chance 0.250 (1/choices over 20 samples), n=20",
        ),
        ("answers", "qwen2.5_14b/balanced/arc_challenge", "10.0% empty (2 of 20)"),
        ("partial", "qwen2.5_14b/performance/gsm8k", "2 of 20 samples failed"),
        ("errors", "qwen2.5_14b/performance/gsm8k", "request error rate 10.0% (2 of 20 requests)"),
    ]


def test_model_comparison(reports: Reports) -> None:
    matrix = table(reports, "Headline scores at the balanced preset")
    assert matrix.columns == ("model", "gsm8k (accuracy)", "arc_challenge (acc_norm)", "truthfulqa (mc2)")
    assert list(matrix.rows) == [
        ("qwen2.5_8b", "0.700 (n=20)", "0.500 (n=20)", "0.500 (n=4)"),
        ("qwen2.5_14b", "0.800 (n=20)", "0.250 (n=20) ⚑ at chance, answers", "0.625 (n=4)"),
    ]
    every = dict(((r[0], r[1]), r[2:]) for r in rows(reports, "Headline scores at every preset"))
    assert every[("qwen2.5_14b", "performance")] == (
        "0.600 (n=20, partial: 2 errors) ⚑ errors",
        "failed",
        "missing",
    )
    assert every[("qwen2.5_14b", "memory_optimized")] == ("not run", "not run", "not run")
    best = rows(reports, "Best model per task family")
    # reasoning: (0.7 + 0.5) / 2 for qwen2.5_8b; qwen2.5_14b's arc_challenge is flagged: not ranked
    assert best[0] == (
        "reasoning",
        "gsm8k, arc_challenge",
        "qwen2.5_8b",
        "0.600 (n=40 samples, 2 datasets)",
        "—",
        "—",
    )
    # knowledge: 0.625 against 0.500 on 4 samples, mc2 up by 0.25 on two of them: the paired bootstrap's
    # p is about P(all four resampled differences alike) = 2 / 16, not significant: no winner is declared
    assert best[1][:5] == (
        "knowledge",
        "truthfulqa",
        "no clear winner (within noise: qwen2.5_14b, qwen2.5_8b)",
        "qwen2.5_14b 0.625 (n=4 samples, 1 dataset)",
        "qwen2.5_8b 0.500 (n=4)",
    )
    assert best[1][5].startswith("+0.125 (n=4), 95% CI [+0.000, +0.250], p 0.1")
    assert best[1][5].endswith(" (paired bootstrap), noise floor not measured: not significant")


def test_dataset_analysis(reports: Reports) -> None:
    assert rows(reports, "Datasets by difficulty") == [
        # arc: (.5 + .45 + .45) / 3 (qwen2.5_14b at chance is left out); gsm8k: (.7 + .4 + .4 + .8) / 4,
        # models 0.5 and 0.8; truthfulqa: (.5 + .75 + .75 + .625) / 4, models 2/3 and 0.625
        ("1", "arc_challenge", "acc_norm", "0.467", "3", "60", "0.450–0.500", "0.000 (sd 0.000, 1 model)"),
        ("2", "gsm8k", "accuracy", "0.575", "4", "80", "0.400–0.800", "0.300 (sd 0.150, 2 models)"),
        ("3", "truthfulqa", "mc2", "0.656", "4", "16", "0.500–0.750", "0.042 (sd 0.021, 2 models)"),
    ]
    assert rows(reports, "Unparseable answers per model") == [
        ("qwen2.5_8b", "0.0% (0 of 60)", "0.0% (0 of 60)"),
        ("qwen2.5_14b", "0.0% (0 of 40)", "0.0% (0 of 40)"),
    ]
    # gsm8k: 4 complete combinations of 20 samples, one partial with 18 answered
    ttft = {r[0]: r[1:] for r in rows(reports, "Time to first token")}
    assert ttft["gsm8k"][0] == "98"
    assert ttft["truthfulqa"] == ("16", "25.0", "40.0", "25.0")  # 4 combinations × (10, 20, 30, 40) ms
    length = {r[0]: r[1:] for r in rows(reports, "Answer length")}
    # 100 + the sample's index: 100–117 five times, 118 and 119 four times; mean 10713 / 98; p90 at the
    # sorted position 0.9 · 97 = 87.3, among the fives of 117 (positions 85–89)
    assert length["gsm8k"] == ("98", "109.0", "117.0", "109.3")
    assert length["arc_challenge"] == length["truthfulqa"] == ("0", "n/a [1]", "", "")
    assert table(reports, "Answer length").note == "[1] n/a: no generated text (log-likelihood)"


def test_scaling(reports: Reports) -> None:
    # balanced: both ranked on gsm8k and truthfulqa; 8B (0.7 + 0.5) / 2, 14B (0.8 + 0.625) / 2
    assert rows(reports, "8B and 14B side by side") == [
        ("qwen2.5", "balanced", "score (0–1)", "0.600 (n=2 datasets)", "0.713 (n=2 datasets)", "1.19×"),
        (
            "qwen2.5",
            "balanced",
            "throughput (tokens/s)",
            "100.0 (n=2 datasets)",
            "60.0 (n=2 datasets)",
            "0.60×",
        ),
        (
            "qwen2.5",
            "balanced",
            "peak GPU memory (GB)",
            "20.00 (n=2 datasets)",
            "35.00 (n=2 datasets)",
            "1.75×",
        ),
        (
            "qwen2.5",
            "balanced",
            "energy (J / generated token)",
            "0.5000 (n=2 datasets)",
            "0.9000 (n=2 datasets)",
            "1.80×",
        ),
    ]
    assert rows(reports, "Headline score per dataset at the balanced preset") == [
        ("qwen2.5", "gsm8k", "0.700 (n=20)", "0.800 (n=20)", "1.14×"),
        ("qwen2.5", "truthfulqa", "0.500 (n=4)", "0.625 (n=4)", "1.25×"),
    ]


def test_pareto_set_of_presets(reports: Reports) -> None:
    trade = rows(reports, "Accuracy, throughput, peak memory and energy per preset")
    # qwen2.5_8b: balanced's higher score (0.567 vs 0.533) is noise: over the three datasets the paired
    # change is -0.033, inside the noise floor (0.25 + 0.25 + 0) / 3 and p ≈ 0.5; performance is faster,
    # smaller and leaner than both beyond 5% (150 vs 100 and 90 tok/s, 18 vs 20 and 19 GB, 0.4 vs 0.5 and
    # 0.6 J), so it dominates both
    assert trade[:3] == [
        (
            "qwen2.5_8b",
            "balanced",
            "0.567 (n=3 datasets)",
            "100.0 (n=3 datasets)",
            "20.00 (n=3 datasets)",
            "0.5000 (n=3 datasets)",
            "",
        ),
        (
            "qwen2.5_8b",
            "performance",
            "0.533 (n=3 datasets)",
            "150.0 (n=3 datasets)",
            "18.00 (n=3 datasets)",
            "0.4000 (n=3 datasets)",
            "★",
        ),
        (
            "qwen2.5_8b",
            "memory_optimized",
            "0.533 (n=3 datasets)",
            "90.0 (n=3 datasets)",
            "19.00 (n=3 datasets)",
            "0.6000 (n=3 datasets)",
            "",
        ),
    ]
    assert trade[3] == ("qwen2.5_14b", "balanced", "n/a [1]", "n/a [1]", "n/a [1]", "n/a [1]", "")
    assert table(reports, "Accuracy, throughput").note.endswith(
        "[1] n/a: no dataset with ranked results at every preset"
    )


def test_paired_tests_read_against_the_noise_floor(reports: Reports) -> None:
    paired = {(r[0], r[1], r[2]): r[3:] for r in rows(reports, "Accuracy change between presets")}
    gsm8k = paired[("qwen2.5_8b", "gsm8k", "balanced → performance")]
    # 6 samples right under balanced only, none the other way: p = 2 / 2^6; floor: 1 verdict flip in 4
    assert gsm8k[:4] == ("20", "0.700", "0.400", "-0.300")
    assert gsm8k[5:] == ("McNemar exact (b=6, c=0)", "0.0312", "0.250", "significant loss")
    arc = paired[("qwen2.5_8b", "arc_challenge", "balanced → performance")]
    # one sample lost: |Δ| = 0.05 is inside the 0.25 floor
    assert arc[3:] == (
        "-0.050",
        arc[4],
        "McNemar exact (b=1, c=0)",
        "1.0000",
        "0.250",
        "noise (inside the noise floor)",
    )
    truthful = paired[("qwen2.5_8b", "truthfulqa", "balanced → performance")]
    # every sample's mc2 up by exactly 0.25: the bootstrap interval is that point
    assert truthful == (
        "4",
        "0.500",
        "0.750",
        "+0.250",
        "[+0.250, +0.250]",
        "paired bootstrap",
        "0.0001",
        "not measured",
        "significant gain (noise floor not measured)",
    )
    assert paired[("qwen2.5_8b", "gsm8k", "performance → memory_optimized")][-1] == "no change"
    # the partial combination is compared on the 18 samples both answered: b = 4 (samples 12–15), c = 0
    partial = paired[("qwen2.5_14b", "gsm8k", "balanced → performance")]
    assert partial[:4] == ("18", "0.889", "0.667", "-0.222")
    assert partial[5:] == ("McNemar exact (b=4, c=0)", "0.1250", "not measured", "not significant")
    assert ("qwen2.5_14b", "arc_challenge", "balanced → performance") not in paired  # failed: nothing to pair


def test_noise_floor(reports: Reports) -> None:
    # gsm8k: 2 answers changed, 1 verdict; arc_challenge: 1 and 1; 8 samples asked again at concurrency 2
    assert rows(reports, "Noise floor: answers") == [
        ("qwen2.5_8b", "performance", "8", "37.5% (3)", "25.0% (2)", "2"),
    ]
    assert rows(reports, "Noise floor per dataset") == [
        ("qwen2.5_8b", "performance", "gsm8k", "4", "2", "1", "0.250"),
        ("qwen2.5_8b", "performance", "arc_challenge", "4", "1", "1", "0.250"),
    ]


def test_images_compared_flag_a_regression(reports: Reports) -> None:
    (row,) = rows(reports, "The same model and preset on several images")
    # 14 of 20 right on TGI, 6 on vLLM, never the other way round: b = 8, c = 0, p = 2 / 2^8
    assert row[:7] == (
        "qwen2.5_8b",
        "balanced",
        "gsm8k",
        "ghcr.io/huggingface/text-generation-inference:3.3.5 (abababababab)",
        "vllm/vllm-openai:v0.9.2 (abababababab)",
        "0.700 (n=20)",
        "0.300 (n=20)",
    )
    assert (row[7], row[9], row[10], row[11], row[12]) == (
        "-0.400 (n=20)",
        "0.0078",
        "not measured",
        "2.00×",
        "⚑ regression (noise floor not measured)",
    )


def test_markdown_and_html_files(reports: Reports) -> None:
    root = reports.tree.base_dir / "reports"
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert names == [
        "README.md",
        "dataset_analysis/answer_length.png",
        "dataset_analysis/dataset_analysis.md",
        "dataset_analysis/ttft.png",
        "model_comparison/headline_scores.png",
        "model_comparison/model_comparison.md",
        "preset_comparison/pareto.png",
        "preset_comparison/preset_comparison.md",
        "report.html",
        "scaling_analysis/scaling.png",
        "scaling_analysis/scaling_analysis.md",
    ]
    for folder in ("model_comparison", "dataset_analysis", "scaling_analysis", "preset_comparison"):
        text = (root / folder / f"{folder}.md").read_text()
        assert text.index("## Run status and sanity flags") < text.index(
            "\n## ", text.index("sanity flags") + 1
        )
        assert (
            "| qwen2.5_14b/performance/truthfulqa | missing | not run: the run was interrupted before it |"
            in text
        )
    assert (root / "dataset_analysis" / "ttft.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (root / "report.html").read_text()
    assert page.count('<img class="plot"') == 5
    assert page.count("data:image/png;base64,") == 5
    assert '<nav id="contents">' in page
    assert "http://" not in page
    assert "https://" not in page


def test_a_rebuild_removes_plots_it_no_longer_draws(tmp_path: Path) -> None:
    base = build_tree(tmp_path)
    stale = base / "reports" / "scaling_analysis" / "old.png"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"old")
    build_reports(base, {})  # no model info: no scaling plot either
    assert sorted(p.name for p in stale.parent.iterdir()) == ["scaling_analysis.md"]


def test_tree_without_manifest_and_with_an_unreadable_file(tmp_path: Path) -> None:
    results = ResultsOrganizer(tmp_path)
    write_combination(results, "qwen3_8b", "balanced", "gsm8k", gsm8k_verdicts(0))
    (tmp_path / "metrics" / "detailed" / "qwen3_8b_balanced_mmlu.json").write_text("{not json")
    built = build_reports(tmp_path, {})
    assert next(b.text for b in built.sections[0].blocks if not isinstance(b, Table)) == (
        "No manifest.json: reporting the 2 metrics files found (1 complete, 1 unreadable)."
    )
    flags = rows(built, "Sanity flags")
    assert flags == [
        ("at chance", "qwen3_8b/balanced/gsm8k", "accuracy 0.000 ≤ chance 0.000 (open answers), n=20")
    ]
    assert rows(built, "Headline scores at the balanced preset") == [
        ("qwen3_8b", "0.000 (n=20) ⚑ at chance", "unreadable")
    ]
    ((label, status, why),) = rows(built, "Combinations that are not complete")
    assert (label, status) == ("qwen3_8b/balanced/mmlu", "unreadable")
    assert why.startswith("metrics file ")
    assert why.endswith("is not valid JSON (Expecting property name enclosed in double quotes, line 1)")


def test_no_results_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"no results in .* pass --output with the folder a run wrote"):
        build_reports(tmp_path, {})


def test_report_command(tmp_path: Path) -> None:
    base = build_tree(tmp_path / "run")
    result = CliRunner().invoke(cli, ["report", "--output", str(base)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Run status and sanity flags" in result.output
    assert "qwen2.5_14b/performance/truthfulqa" in result.output
    assert f"reports: {base}/reports/report.html" in result.output
    manifest = json.loads((base / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"  # the report reads, never rewrites, the run's files


FALLBACK = {
    "engine": "tgi",
    "image": "ghcr.io/huggingface/text-generation-inference:3.3.7",
    "engine_version": "3.3.7",
    "capabilities_assumed": False,
    "serving_path": "fallback",
    "serving_path_name": "TransformersFlashCausalLM",
    "substitutions": [
        "qwen3_8b on tgi 3.3.7: quantize=fp8 not applied on TransformersFlashCausalLM (fallback); weights "
        "served in float16",
        "qwen3_8b on tgi 3.3.7: kv_cache_dtype=fp8_e4m3 not applied on TransformersFlashCausalLM (fallback)",
    ],
    "refusal": None,
    "route": None,
}
NATIVE = {
    **FALLBACK,
    "engine": "vllm",
    "image": "vllm/vllm-openai:v0.21.0-cu129",
    "engine_version": "0.21.0",
    "serving_path": "native",
    "substitutions": [],
    "route": "sweep.yaml engine.models routes qwen_8b to vllm",
}


def test_reports_show_how_each_result_was_served_and_say_when_engines_differ(tmp_path: Path) -> None:
    results = ResultsOrganizer(tmp_path)
    write_combination(results, "qwen3_8b", "balanced", "gsm8k", gsm8k_verdicts(15), serving=FALLBACK)
    write_combination(results, "qwen_8b", "balanced", "gsm8k", gsm8k_verdicts(10), serving=NATIVE)
    built = build_reports(tmp_path, {})
    frame = pd.read_csv(tmp_path / "metrics" / "aggregated" / "summary.csv").set_index("model")
    served = frame.loc["qwen3_8b", ["engine", "engine_version", "serving_path"]].tolist()
    assert served == ["tgi", "3.3.7", "fallback"]
    assert frame.loc["qwen3_8b", "substitutions"] == "; ".join(FALLBACK["substitutions"])
    assert frame.loc["qwen3_8b", "flags"] == (
        "not as the preset says: quantize=fp8 not applied on TransformersFlashCausalLM (fallback); weights "
        "served in float16 (and 1 more)"
    )
    assert bool(frame.loc["qwen3_8b", "ranked"])  # the flag says how it was served; it does not unrank it
    assert frame.loc["qwen_8b", ["engine", "serving_path"]].tolist() == ["vllm", "native"]
    assert rows(built, "Served by") == [
        (
            "qwen3_8b",
            "balanced",
            "tgi 3.3.7 (fallback)",
            "ghcr.io/huggingface/text-generation-inference:3.3.7",
            "quantize=fp8 not applied on TransformersFlashCausalLM (fallback); weights served in float16; "
            "kv_cache_dtype=fp8_e4m3 not applied on TransformersFlashCausalLM (fallback)",
        ),
        ("qwen_8b", "balanced", "vllm 0.21.0 (native)", "vllm/vllm-openai:v0.21.0-cu129", "—"),
    ]
    note = table(built, "Headline scores at the balanced preset").note
    assert note.endswith(
        "Served by different engines or serving paths, so these scores compare the engines too — tgi 3.3.7 "
        "(fallback): qwen3_8b_balanced; vllm 0.21.0 (native): qwen_8b_balanced."
    )
