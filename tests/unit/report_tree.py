"""A synthetic results tree with known numbers, for the report tests (every expected value is worked out by
hand in the tests). The run was interrupted: qwen2.5_14b/performance has a partial gsm8k, a failed
arc_challenge (in the manifest only) and a missing truthfulqa.

    qwen2.5_8b  balanced          gsm8k 14/20  arc acc_norm 10/20  truthfulqa mc2 .25 .5 .75 .5
                performance       gsm8k  8/20  arc 9/20            mc2 .5 .75 1 .75   (repeats: 1 flip in 4)
                memory_optimized  gsm8k  8/20  arc 9/20            mc2 .5 .75 1 .75
    qwen2.5_14b balanced          gsm8k 16/20  arc 5/20 (chance, 10% empty)   mc2 .5 .5 .75 .75
                performance       gsm8k 12/20 partial (2 errors)   arc failed  truthfulqa missing
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalclient.results import CombinationRecord, ResultsOrganizer

RUN_ID = "run-2"
# preset → throughput, peak memory, J per token (the same on every dataset of the deployment)
PERF = {
    ("qwen2.5_8b", "balanced"): (100.0, 20.0, 0.5),
    ("qwen2.5_8b", "performance"): (150.0, 18.0, 0.4),
    ("qwen2.5_8b", "memory_optimized"): (90.0, 19.0, 0.6),
    ("qwen2.5_14b", "balanced"): (60.0, 35.0, 0.9),
    ("qwen2.5_14b", "performance"): (80.0, 33.0, 0.8),
}
PLAN = {
    "qwen2.5_8b": ("balanced", "performance", "memory_optimized"),
    "qwen2.5_14b": ("balanced", "performance"),
}
DATASETS = ("gsm8k", "arc_challenge", "truthfulqa")


def gsm8k_verdicts(correct: int, total: int = 20) -> list[dict[str, Any]]:
    return [{"correct": i < correct, "parsed": True} for i in range(total)]


def arc_verdicts(correct: int, total: int = 20) -> list[dict[str, Any]]:
    return [
        {
            "correct": i < correct,
            "correct_norm": i < correct,
            "predicted": 0,
            "predicted_norm": 0 if i < correct else 1,
            "loglikelihoods": [-1.0, -2.0, -3.0, -4.0],
            "parsed": None,
        }
        for i in range(total)
    ]


def truthfulqa_verdicts(mc2: list[float]) -> list[dict[str, Any]]:
    return [
        {
            "correct": i < 2,
            "mc2": value,
            "predicted": 0,
            "loglikelihoods": [-1.0, -2.0, -3.0, -4.0],
            "parsed": None,
        }
        for i, value in enumerate(mc2)
    ]


def write_combination(
    results: ResultsOrganizer,
    model: str,
    preset: str,
    dataset: str,
    verdicts: list[dict[str, Any]],
    *,
    failed_ids: tuple[int, ...] = (),
    extra_metrics: dict[str, Any] | None = None,
    image: str = "ghcr.io/huggingface/text-generation-inference:3.3.5",
    run_id: str = RUN_ID,
    perf: tuple[float, float, float] | None = None,
    serving: dict[str, Any] | None = None,
) -> CombinationRecord:
    """The record and predictions of one combination; metrics are the means of the verdicts."""
    n = len(verdicts)
    generative = dataset == "gsm8k"
    rows = []
    for i, verdict in enumerate(verdicts):
        error = {"kind": "stream_error", "message": "boom"} if i in failed_ids else None
        completions = [
            {
                "kind": "chat" if generative else "loglikelihood",
                "ttft_ms": 10.0 * (i + 1),
                "completion_tokens": 100 + i if generative else None,
            }
        ]
        rows.append(
            {
                "id": str(i),
                "response": f"answer {i}" if generative else None,
                "score": verdict,
                "error": error,
                "solver_error": None,
                "completions": completions,
            }
        )
    views = results.save_predictions(model, preset, dataset, rows, "20250101_000000")
    metrics: dict[str, Any] = {"accuracy": sum(v["correct"] for v in verdicts) / n}
    if dataset == "arc_challenge":
        metrics |= {"acc": metrics["accuracy"], "acc_norm": sum(v["correct_norm"] for v in verdicts) / n}
    if dataset == "truthfulqa":
        metrics |= {"mc1": metrics["accuracy"], "mc2": sum(v["mc2"] for v in verdicts) / n}
    if not generative:
        metrics["mode"] = "loglikelihood"
    text_counts = 0 if generative else None
    metrics |= {
        "num_samples": n,
        "num_errors": len(failed_ids),
        "num_truncated": text_counts,
        "num_empty": text_counts,
        "num_failed_parse": text_counts,
        "error_rate": len(failed_ids) / n,
        "truncated_rate": None if text_counts is None else 0.0,
        "empty_answer_rate": None if text_counts is None else 0.0,
        "unparseable_rate": None if text_counts is None else 0.0,
    }
    metrics |= extra_metrics or {}
    throughput, peak, joules = perf or PERF.get((model, preset), (100.0, 20.0, 0.5))
    record = CombinationRecord(
        run_id=run_id,
        model=model,
        model_id=f"Qwen/{model}",
        preset=preset,
        dataset=dataset,
        engine=serving["engine"] if serving else "tgi",
        status="partial" if failed_ids else "complete",
        reason=f"{len(failed_ids)} of {n} samples failed" if failed_ids else None,
        timestamp="20250101_000000",
        fingerprint=f"fp-{model}-{preset}-{dataset}",
        num_samples=n,
        num_errors=len(failed_ids),
        dataset_metrics=metrics,
        performance_metrics={
            "throughput_tokens_per_second": throughput,
            "gpu_memory_peak_gb": peak,
            "energy_j_per_generated_token": joules,
            "gpu_utilization_percent": 80.0,
            "num_requests": n,
            "num_errors": len(failed_ids),
        },
        provenance={
            "image": image,
            "image_id": "sha256:" + "ab" * 32,
            "command": "--model-id x --dtype bfloat16",
            **({"serving": serving} if serving else {}),
        },
        predictions_file=str(views[0].relative_to(results.base_dir)),
    )
    results.save_combination(record)
    return record


def write_repeats(
    results: ResultsOrganizer, model: str, preset: str, dataset: str, rows: list[tuple[Any, Any, bool, bool]]
) -> None:
    """(first response, second response, first correct, second correct) per repeated sample."""
    lines = [
        {
            "id": str(i),
            "fingerprint": f"fp-{model}-{preset}-{dataset}",
            "run_id": RUN_ID,
            "concurrency": 2,
            "response": second,
            "score": {"correct": ok2, "correct_norm": ok2, "predicted_norm": int(not ok2)},
            "error": None,
            "first_response": first,
            "first_score": {"correct": ok1, "correct_norm": ok1, "predicted_norm": int(not ok1)},
        }
        for i, (first, second, ok1, ok2) in enumerate(rows)
    ]
    path = results.repeats_path(model, preset, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def build_tree(base: Path) -> Path:
    """The interrupted run described in the module docstring, under `base`."""
    results = ResultsOrganizer(base)
    m8, m14 = "qwen2.5_8b", "qwen2.5_14b"
    write_combination(results, m8, "balanced", "gsm8k", gsm8k_verdicts(14))
    write_combination(results, m8, "balanced", "arc_challenge", arc_verdicts(10))
    write_combination(results, m8, "balanced", "truthfulqa", truthfulqa_verdicts([0.25, 0.5, 0.75, 0.5]))
    for preset in ("performance", "memory_optimized"):
        write_combination(results, m8, preset, "gsm8k", gsm8k_verdicts(8))
        write_combination(results, m8, preset, "arc_challenge", arc_verdicts(9))
        write_combination(results, m8, preset, "truthfulqa", truthfulqa_verdicts([0.5, 0.75, 1.0, 0.75]))
    # asked again: one text change that keeps the verdict, one verdict flip, among 4
    write_repeats(
        results,
        m8,
        "performance",
        "gsm8k",
        [
            ("a0", "a0", True, True),
            ("a1", "a1 again", True, True),
            ("a2", "b2", True, False),
            ("a3", "a3", True, True),
        ],
    )
    write_repeats(
        results,
        m8,
        "performance",
        "arc_challenge",
        [
            (None, None, True, True),
            (None, None, True, False),
            (None, None, False, False),
            (None, None, True, True),
        ],
    )
    write_combination(results, m14, "balanced", "gsm8k", gsm8k_verdicts(16))
    write_combination(
        results,
        m14,
        "balanced",
        "arc_challenge",
        arc_verdicts(5),
        extra_metrics={"num_empty": 2, "empty_answer_rate": 0.1},
    )
    write_combination(results, m14, "balanced", "truthfulqa", truthfulqa_verdicts([0.5, 0.5, 0.75, 0.75]))
    write_combination(results, m14, "performance", "gsm8k", gsm8k_verdicts(12), failed_ids=(18, 19))
    manifest = {
        "run_id": RUN_ID,
        "started_at": "2025-01-01T00:00:00+00:00",
        "finished_at": "2025-01-01T01:00:00+00:00",
        "status": "interrupted",
        "engine": "tgi",
        "plan": [
            {"model": m, "preset": p, "datasets": dict.fromkeys(DATASETS, 20)}
            for m, presets in PLAN.items()
            for p in presets
        ],
        "combinations": {
            f"{m14}/performance/gsm8k": {"status": "partial", "error": "2 of 20 samples failed"},
            f"{m14}/performance/arc_challenge": {
                "status": "failed",
                "error": "the log-likelihood probe failed: the server returned no prompt logprobs",
            },
        },
    }
    results.save_manifest(manifest)
    return base


def build_other_image(base: Path) -> Path:
    """The same qwen2.5_8b/balanced/gsm8k on another image: 6 of the 20 right, where the first had 14."""
    results = ResultsOrganizer(base)
    write_combination(
        results,
        "qwen2.5_8b",
        "balanced",
        "gsm8k",
        gsm8k_verdicts(6),
        image="vllm/vllm-openai:v0.9.2",
        run_id="run-vllm",
        perf=(200.0, 21.0, 0.45),
    )
    return base
