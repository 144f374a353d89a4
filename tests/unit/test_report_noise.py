"""Reports that do not rank on noise, agree with themselves, and tell a dead run from a running one: the ★
and "best" withheld inside the noise floor, one bfcl metric in every table, axes from zero, and a run whose
process is gone read as interrupted."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from report_tree import gsm8k_verdicts, write_combination, write_repeats

from evalclient.report import build_reports, plots
from evalclient.report.document import Table
from evalclient.report.headline import headline_of, headline_value
from evalclient.report.paired import compare
from evalclient.report.stats import mcnemar_exact, paired_bootstrap, stratified_bootstrap
from evalclient.report.tree import load_tree
from evalclient.results import ResultsOrganizer
from evalclient.results.lock import RunLock
from evalclient.tasks.function_calling.bfcl_metrics import bfcl_metrics


def rows(built: Any, title: str) -> list[tuple[str, ...]]:
    (found,) = [
        b for s in built.sections for b in s.blocks if isinstance(b, Table) and b.title.startswith(title)
    ]
    return list(found.rows)


def _presets(tmp_path: Path, throughputs: tuple[float, float]) -> Any:
    """One model at two presets with the same 14 of 20 gsm8k answers right, memory and energy alike."""
    results = ResultsOrganizer(tmp_path)
    for preset, speed in zip(("balanced", "performance"), throughputs, strict=True):
        write_combination(results, "qwen3_8b", preset, "gsm8k", gsm8k_verdicts(14), perf=(speed, 20.0, 0.5))
    return build_reports(tmp_path, {})


def test_the_pareto_star_is_withheld_on_a_throughput_difference_inside_the_noise(tmp_path: Path) -> None:
    # 350.8 vs 348.8 tokens/s is 0.6%, inside the 5% floor; the scores are equal: neither is ahead
    trade = rows(_presets(tmp_path, (350.8, 348.8)), "Accuracy, throughput")
    assert [(r[1], r[3], r[-1]) for r in trade] == [
        ("balanced", "350.8 (n=1 dataset)", "no clear winner (within noise: balanced ≈ performance)"),
        ("performance", "348.8 (n=1 dataset)", "no clear winner (within noise: performance ≈ balanced)"),
    ]


def test_the_pareto_star_goes_to_a_lead_beyond_the_noise(tmp_path: Path) -> None:
    # 350.8 vs 330.0 tokens/s: 5.9% apart, beyond the 5% floor
    trade = rows(_presets(tmp_path, (350.8, 330.0)), "Accuracy, throughput")
    assert [(r[1], r[-1]) for r in trade] == [("balanced", "★"), ("performance", "")]


def _models(tmp_path: Path, right: tuple[int, int], total: int) -> Any:
    """Two models on the same gsm8k samples; every sample the second gets right the first does too."""
    results = ResultsOrganizer(tmp_path)
    for model, correct in zip(("qwen3_8b", "llama_8b"), right, strict=True):
        write_combination(results, model, "balanced", "gsm8k", gsm8k_verdicts(correct, total))
    return build_reports(tmp_path, {})


def test_best_model_is_not_declared_on_a_lead_inside_the_noise(tmp_path: Path) -> None:
    # 7 of 10 against 5 of 10: the leader (second) alone right on 2 samples, b = 0, c = 2: McNemar p = 0.5
    reasoning = rows(_models(tmp_path, (7, 5), 10), "Best model per task family")[0]
    assert reasoning[:5] == (
        "reasoning",
        "gsm8k",
        "no clear winner (within noise: qwen3_8b, llama_8b)",
        "qwen3_8b 0.700 (n=10 samples, 1 dataset)",
        "llama_8b 0.500 (n=10)",
    )
    boot = paired_bootstrap([0.0] * 5 + [1.0] * 2 + [0.0] * 3)
    assert reasoning[5] == (
        f"+0.200 (n=10), 95% CI [{boot.low:+.3f}, {boot.high:+.3f}], p 0.5000 (McNemar exact (b=0, c=2)), "
        "noise floor not measured: not significant"
    )


def test_best_model_is_declared_on_a_clear_lead(tmp_path: Path) -> None:
    # 18 of 20 against 4 of 20: the leader alone right on 14: b = 0, c = 14, McNemar p = 2 / 2^14 = 0.000122
    assert mcnemar_exact(0, 14) == 2 / 2**14
    reasoning = rows(_models(tmp_path, (18, 4), 20), "Best model per task family")[0]
    assert reasoning[:5] == (
        "reasoning",
        "gsm8k",
        "qwen3_8b",
        "0.900 (n=20 samples, 1 dataset)",
        "llama_8b 0.200 (n=20)",
    )
    assert reasoning[5].startswith("+0.700 (n=20), 95% CI [")
    assert reasoning[5].endswith(
        "p 0.0001 (McNemar exact (b=0, c=14)), noise floor not measured: significant gain"
    )


def test_a_significant_lead_inside_the_measured_noise_floor_is_no_lead(tmp_path: Path) -> None:
    # 16 of 20 against 8 of 20: c = 8, McNemar p = 2 / 2^8 = 0.0078, significant; but asking 10 samples
    # again flipped 5 verdicts: the noise floor 0.5 exceeds the lead 0.4
    results = ResultsOrganizer(tmp_path)
    write_combination(results, "qwen3_8b", "balanced", "gsm8k", gsm8k_verdicts(16, 20))
    write_combination(results, "llama_8b", "balanced", "gsm8k", gsm8k_verdicts(8, 20))
    write_repeats(
        results, "qwen3_8b", "balanced", "gsm8k", [("a", "b", True, False)] * 5 + [("a", "a", True, True)] * 5
    )
    reasoning = rows(build_reports(tmp_path, {}), "Best model per task family")[0]
    assert reasoning[2] == "no clear winner (within noise: qwen3_8b, llama_8b)"
    assert reasoning[5].endswith(
        "p 0.0078 (McNemar exact (b=0, c=8)), noise floor 0.500: noise (inside the noise floor)"
    )


BFCL_CATEGORIES = ["simple_python"] * 4 + ["multiple"] * 2 + ["parallel"] * 2 + ["irrelevance"] * 2


def bfcl_verdicts(correct: list[bool]) -> list[dict[str, Any]]:
    return [
        {
            "category": category,
            "correct": ok,
            "parsed": True,
            "well_formed": category != "irrelevance",
            "error_type": None if ok else "simple_function_checker:wrong_count",
        }
        for category, ok in zip(BFCL_CATEGORIES, correct, strict=True)
    ]


# balanced: simple 2/4, multiple 1/2, parallel 2/2, irrelevance 2/2: accuracy 7/10 = 0.700 and
# ast_accuracy (BFCL v4: the mean of simple, multiple and parallel) = (0.5 + 0.5 + 1) / 3 = 0.667
BALANCED = [True, True, False, False, True, False, True, True, True, True]
# performance: simple 4/4, multiple 2/2, parallel 1/2, irrelevance 2/2: accuracy 0.900, ast (1 + 1 + .5) / 3
PERFORMANCE = [True, True, True, True, True, True, True, False, True, True]


def test_bfcl_is_one_metric_in_every_table(tmp_path: Path) -> None:
    results = ResultsOrganizer(tmp_path)
    for preset, correct in (("balanced", BALANCED), ("performance", PERFORMANCE)):
        verdicts = bfcl_verdicts(correct)
        write_combination(results, "qwen3_8b", preset, "bfcl", verdicts, extra_metrics=bfcl_metrics(verdicts))
    built = build_reports(tmp_path, {})
    assert rows(built, "Headline scores at every preset") == [
        ("qwen3_8b", "balanced", "0.667 (n=10)"),
        ("qwen3_8b", "performance", "0.833 (n=10)"),
    ]
    ((model, dataset, pair, *paired),) = rows(built, "Accuracy change between presets")
    # the same ast_accuracy on the 8 samples it counts (irrelevance weighs nothing), not the 0.700 and 0.900
    # of all 10 samples' accuracy
    assert paired[:4] == ["8", "0.667", "0.833", "+0.167"]
    # resampled within each category, the weights fixed
    differences = {"simple_python": [0.0, 0.0, 1.0, 1.0], "multiple": [0.0, 1.0], "parallel": [0.0, -1.0]}
    boot = stratified_bootstrap(differences, {"simple_python": 1 / 3, "multiple": 1 / 3, "parallel": 1 / 3})
    assert (model, dataset, pair, *paired) == (
        "qwen3_8b",
        "bfcl",
        "balanced → performance",
        "8",
        "0.667",
        "0.833",
        "+0.167",
        f"[{boot.low:+.3f}, {boot.high:+.3f}]",
        "paired bootstrap by category",
        f"{boot.p_value:.4f}",
        "not measured",
        "not significant",
    )
    assert rows(built, "Best model per task family")[3][3] == "0.667 (n=10 samples, 1 dataset)"


def test_the_headline_from_verdicts_is_the_scorers_number() -> None:
    """bfcl's ast_accuracy recomputed from the verdicts, as every table computes it, is bfcl_metrics'."""
    cases = [
        BALANCED,
        PERFORMANCE,
        [i % 3 == 0 for i in range(10)],
    ]
    for correct in cases:
        verdicts = bfcl_verdicts(correct)
        metrics = bfcl_metrics(verdicts)
        headline = headline_of("bfcl", metrics)
        assert headline is not None
        assert headline.metric == "ast_accuracy"
        assert headline_value(headline, verdicts) == pytest.approx(metrics["ast_accuracy"], abs=1e-15)
    # every language of simple and every term: simple_java 1/1, simple_javascript 0/1 → simple = (1 + 1 + 0)/3
    verdicts = [
        {"category": c, "correct": ok, "well_formed": True, "error_type": None}
        for c, ok in [
            ("simple_python", True),
            ("simple_java", True),
            ("simple_javascript", False),
            ("multiple", True),
            ("parallel", False),
            ("parallel_multiple", True),
        ]
    ]
    metrics = bfcl_metrics(verdicts)
    assert metrics["ast_accuracy"] == pytest.approx((2 / 3 + 1 + 0 + 1) / 4)
    headline = headline_of("bfcl", metrics)
    assert headline is not None
    assert headline_value(headline, verdicts) == pytest.approx(metrics["ast_accuracy"], abs=1e-15)


def test_a_plain_headline_pairs_as_before(tmp_path: Path) -> None:
    """gsm8k's accuracy is its plain mean: McNemar's test, the unstratified bootstrap."""
    results = ResultsOrganizer(tmp_path)
    write_combination(results, "qwen3_8b", "balanced", "gsm8k", gsm8k_verdicts(14))
    write_combination(results, "qwen3_8b", "performance", "gsm8k", gsm8k_verdicts(8))
    tree = load_tree(tmp_path)
    result = compare(
        tree.combinations[("qwen3_8b", "balanced", "gsm8k")],
        tree.combinations[("qwen3_8b", "performance", "gsm8k")],
    )
    assert result is not None
    boot = paired_bootstrap([0.0] * 8 + [-1.0] * 6 + [0.0] * 6)
    assert (result.n, result.first, result.second, result.test, result.low, result.high) == (
        20,
        0.7,
        0.4,
        "McNemar exact (b=6, c=0)",
        boot.low,
        boot.high,
    )


def _limits(monkeypatch: pytest.MonkeyPatch, draw: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    seen: list[tuple[tuple[float, float], tuple[float, float]]] = []

    def keep(fig: Any) -> bytes:
        (ax,) = fig.axes
        seen.append((tuple(ax.get_xlim()), tuple(ax.get_ylim())))
        plots._pyplot().close(fig)
        return b""

    monkeypatch.setattr(plots, "_png", keep)
    draw()
    (limits,) = seen
    return limits


def test_the_pareto_plot_does_not_zoom_into_a_small_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    points = {"qwen3_8b": [("balanced", 350.8, 0.70, True), ("performance", 348.8, 0.69, False)]}
    (x0, _), y = _limits(monkeypatch, lambda: plots.pareto_scatter(points, "tok/s", "score", "t"))
    assert (x0, y) == (0.0, (0.0, 1.05))


def test_boxes_and_slopes_start_at_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    _, (y0, _) = _limits(monkeypatch, lambda: plots.boxplots({"gsm8k": [900.0, 910.0, 905.0]}, "ms", "t"))
    assert y0 == 0.0
    (x0, _), (y0, _) = _limits(
        monkeypatch, lambda: plots.slopes({"qwen": [(7.6, 0.70), (14.7, 0.72)]}, "params", "score", "t")
    )
    assert (x0, y0) == (0.0, 0.0)


def _running(tmp_path: Path, lock: dict[str, Any] | None) -> Path:
    """A tree whose manifest says `running`, with `lock` in its lock file."""
    results = ResultsOrganizer(tmp_path)
    write_combination(results, "qwen3_8b", "balanced", "gsm8k", gsm8k_verdicts(14), run_id="run-9")
    results.save_manifest(
        {
            "run_id": "run-9",
            "started_at": "2025-01-01T00:00:00+00:00",
            "status": "running",
            "engine": "tgi",
            "plan": [{"model": "qwen3_8b", "preset": "balanced", "datasets": {"gsm8k": 20, "mmlu": 20}}],
            "combinations": {},
        }
    )
    if lock is not None:
        (tmp_path / ".evalclient.lock").write_text(json.dumps(lock))
    return tmp_path


def _status(base: Path) -> tuple[str, tuple[str, ...]]:
    built = build_reports(base, {})
    head = built.sections[0]
    text = next(b.text for b in head.blocks if not isinstance(b, Table))
    (missing,) = rows(built, "Combinations that are not complete")
    return text, missing


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_run_whose_process_is_gone_reads_interrupted(tmp_path: Path) -> None:
    text, missing = _status(_running(tmp_path, {"run_id": "run-9", "pid": _dead_pid()}))
    assert text == (
        "Run run-9 (tgi, started 2025-01-01T00:00:00+00:00): interrupted (the run's process is gone). "
        "2 combinations: 1 complete, 1 missing."
    )
    assert missing == ("qwen3_8b/balanced/mmlu", "missing", "not run: the run was interrupted before it")
    assert load_tree(tmp_path).run_status == "interrupted"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "running"  # the report reads, never rewrites, the run's files


def test_a_live_pid_that_holds_no_lock_is_a_reused_pid(tmp_path: Path) -> None:
    text, _ = _status(_running(tmp_path, {"run_id": "run-9", "pid": os.getpid()}))
    assert "): interrupted (the run's process is gone). " in text


def test_a_lock_taken_by_another_run_means_this_one_is_gone(tmp_path: Path) -> None:
    text, _ = _status(_running(tmp_path, {"run_id": "run-10", "pid": os.getpid()}))
    assert "): interrupted (the run's process is gone). " in text


def test_a_run_that_holds_its_lock_is_running(tmp_path: Path) -> None:
    base = _running(tmp_path, None)
    with RunLock(base, "run-9"):
        text, missing = _status(base)
    assert text == (
        "Run run-9 (tgi, started 2025-01-01T00:00:00+00:00): running. 2 combinations: 1 complete, 1 missing."
    )
    assert missing[2] == "not run yet: the run is still going, or died without saying so"


def test_without_a_lock_file_running_stays_running(tmp_path: Path) -> None:
    text, _ = _status(_running(tmp_path, None))
    assert "): running. " in text
