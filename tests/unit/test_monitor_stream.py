"""The whole monitor against the stand-in driver in a child process: samples streamed to the CSV as they come,
windows labelled, the report equal to what the file holds, a GPU error in its row, a crash losing at most
about a second, and the live line."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from nvml_standin import GPU_IS_LOST, Script, err, memory, processes, run_harness

from evalclient.monitor.rows import ROW_COLUMNS

GB = 1_000_000_000
TICKS = 2000


def script() -> Script:
    utilization = [f"{k + 1}/0" for k in range(TICKS)]
    utilization[3] = err(GPU_IS_LOST)
    return Script(1).gpu(
        0,
        utilization=utilization,
        memory=[memory(80 * GB, GB // 2, 20 * GB)],
        temperature=[61],
        power=[250_000],
        energy=[1_000_000 + 25_000 * k for k in range(TICKS)],
        processes=[processes((4242, 12 * GB))],
        clock_sm=[1755],
        clock_mem=[2619],
        clocks_event_reasons=[0x1],
    )


def docker_stats(k: int) -> dict[str, Any]:
    return {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 10**9 + k * 10**9},
            "system_cpu_usage": 10**11 + k * 4 * 10**9,
            "online_cpus": 8,
        },
        "precpu_stats": {},
        "memory_stats": {"usage": 3 * GB, "stats": {"inactive_file": GB}, "limit": 64 * GB},
    }


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def num(value: str) -> float | None:
    return None if value == "" else float(value)


def test_samples_stream_to_the_file_and_match_the_report(standin_lib: Path, tmp_path: Path) -> None:
    path = tmp_path / "metrics" / "performance" / "qwen3_8b_balanced.csv"
    request = {
        "scenario": "monitor",
        "gpus": [0],
        "interval_s": 0.01,
        "samples_path": str(path),
        "run_id": "20250101T000000Z-abcdef",
        "container": {"stats": [docker_stats(k) for k in range(200)], "pids": [4242]},
        "windows": [
            {
                "name": "gsm8k",
                "ticks": 8,
                "container_looks": 2,
                "records": {"n": 4, "prompt_tokens": 10, "completion_tokens": 50},
            },
            {"name": "mmlu", "ticks": 6, "gap_ticks": 3},
        ],
    }
    answer = run_harness(standin_lib, script(), request, tmp_path / "run")
    header, rows = read_rows(path)
    assert tuple(header) == ROW_COLUMNS
    status = answer["status"]
    assert (status["samples_file_rows"], status["samples_file_error"]) == (len(rows), None)
    assert answer["threads"] == []
    assert {r["run_id"] for r in rows} == {"20250101T000000Z-abcdef"}

    gpu = [r for r in rows if r["source"] == "gpu"]
    assert len(gpu) == status["gpu_samples"]
    expected = [float(k + 1) for k in range(len(gpu))]
    expected[3] = None  # type: ignore[call-overload]
    assert [num(r["gpu_utilization_percent"]) for r in gpu] == expected  # every tick, in order
    assert gpu[3]["gpu_errors"] == "utilization_percent: GPU 0: GPU is lost"
    first = gpu[0]
    assert (first["gpu_memory_used_gb"], first["gpu_deployment_memory_gb"], first["gpu_power_w"]) == (
        "20.0",
        "12.0",
        "250.0",
    )
    assert (first["gpu_processes"], first["gpu_clocks_event_reasons"], first["gpu_sm_clock_mhz"]) == (
        "4242:12.0",
        "gpu_idle",
        "1755.0",
    )

    container = [r for r in rows if r["source"] == "container"]
    assert len(container) == status["container_samples"]
    assert [num(r["container_cpu_percent"]) for r in container[:3]] == [
        None,
        200.0,
        200.0,
    ]  # 1 s of 4 s × 8 CPUs
    assert {(r["container_memory_used_gb"], r["container_memory_limit_gb"]) for r in container} == {
        ("2.0", "64.0")
    }

    for name, (start, end) in answer["windows"].items():
        inside = [r for r in gpu if start <= float(r["t_monotonic"]) <= end]
        assert inside
        assert {r["window"] for r in inside} == {name}
        report = answer["reports"][name]
        utils = [float(r["gpu_utilization_percent"]) for r in inside if r["gpu_utilization_percent"]]
        assert report["gpu_utilization_percent"] == sum(utils) / len(utils)
        (t0, e0), (t1, e1) = [
            (float(r["t_monotonic"]), float(r["gpu_energy_j"])) for r in (inside[0], inside[-1])
        ]
        assert report["energy_j"] == (e1 - e0) * ((end - start) / (t1 - t0))
        assert report["gpu_memory_deployment_gb"] == 12.0
    gsm8k = answer["reports"]["gsm8k"]
    assert gsm8k["energy_j_per_generated_token"] == gsm8k["energy_j"] / 200
    assert (gsm8k["container_cpu_percent"], gsm8k["container_memory_peak_gb"]) == (200.0, 2.0)
    assert gsm8k["container_oom_events"] == 0
    assert all(re.fullmatch(r"GPU0 \d+% 20\.0/80\.0 GB 250 W", line) for line in answer["live_lines"])


def test_a_crash_loses_at_most_about_a_second(standin_lib: Path, tmp_path: Path) -> None:
    path = tmp_path / "m_p.csv"
    request = {
        "scenario": "monitor",
        "gpus": [0],
        "interval_s": 0.01,
        "samples_path": str(path),
        "windows": [{"name": "gsm8k", "ticks": 5}],
        "crash": 2.0,
    }
    answer = run_harness(standin_lib, script(), request, tmp_path / "run")
    _, rows = read_rows(path)
    gpu = [r for r in rows if r["source"] == "gpu"]
    assert float(gpu[-1]["t_monotonic"]) >= answer["crashed_at"] - 1.0
    expected = [float(k + 1) for k in range(len(gpu))]
    expected[3] = None  # type: ignore[call-overload]
    assert [num(r["gpu_utilization_percent"]) for r in gpu] == expected  # no gap before the crash


def test_runs_append_and_an_old_format_is_moved_aside(standin_lib: Path, tmp_path: Path) -> None:
    path = tmp_path / "m_p.csv"
    path.write_text("t,a\n1,2\n")
    request = {
        "scenario": "monitor",
        "gpus": [0],
        "interval_s": 0.01,
        "samples_path": str(path),
        "windows": [{"name": "a", "ticks": 3}],
    }
    for run_id in ("run-1", "run-2"):
        run_harness(standin_lib, script(), {**request, "run_id": run_id}, tmp_path / run_id)
    assert (tmp_path / "m_p.csv.old").read_text() == "t,a\n1,2\n"
    header, rows = read_rows(path)
    assert tuple(header) == ROW_COLUMNS
    assert path.read_text().count("run_id,") == 1
    assert [r["run_id"] for r in rows] == sorted(r["run_id"] for r in rows)
    assert {r["run_id"] for r in rows} == {"run-1", "run-2"}
