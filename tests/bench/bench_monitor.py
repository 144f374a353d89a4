"""`make bench`: what the 10 Hz NVML sampler costs, as CPU time of its own thread (time.thread_time).

Runs the sampler for 10 s at 10 Hz in a child process whose libnvidia-ml.so.1 is the stand-in driver
(tests/nvml_standin: every query the monitor makes; temperature, clocks, clock-event reasons and the
processes list at 2 Hz, as in a run), for 1 GPU and for 8.
That measures evalclient's and pynvml's side of each reading; the real driver adds its own ioctls, so on a
host with a GPU the same run follows against the real driver. Target: under 1 % of one core.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from nvml_standin import Script, build_library, memory, processes, run_harness  # noqa: E402

from evalclient.monitor import probe_gpus  # noqa: E402

GB = 1_000_000_000
SECONDS = 10.0
INTERVAL_S = 0.1
TARGET_PERCENT = 1.0


def busy_gpus(count: int) -> Script:
    script = Script(count)
    for gpu in range(count):
        script.gpu(
            gpu,
            name="NVIDIA H100 80GB HBM3",
            memory=[memory(80 * GB, GB // 2, (40 + k % 7) * GB) for k in range(50)],
            utilization=[f"{90 + k % 10}/40" for k in range(50)],
            temperature=[60 + k % 5 for k in range(50)],
            power=[400_000 + 1000 * k for k in range(50)],
            energy=[10**9 + 40_000 * k for k in range(200)],
            clock_sm=[1980],
            clock_mem=[2619],
            clocks_event_reasons=[0, 4],
            processes=[processes((1000 + gpu, 38 * GB), (2000 + gpu, GB))],
        )
    return script


def line(label: str, answer: dict[str, Any]) -> str:
    if answer["reason"]:
        return f"monitor: {label}: not measured ({answer['reason']})"
    percent = 100.0 * answer["cpu_s"] / answer["wall_s"]
    verdict = "ok" if percent < TARGET_PERCENT else "OVER the target"
    return (
        f"monitor: NVML sampler at {1 / INTERVAL_S:.0f} Hz, {label}: {percent:.2f}% of one core "
        f"({answer['cpu_s'] * 1000:.0f} ms CPU in {answer['wall_s']:.1f} s, {answer['ticks']} ticks, "
        f"{answer['samples']} readings; target < {TARGET_PERCENT:.0f}%: {verdict})"
    )


def main() -> None:
    work = ROOT / ".bench" / "nvml_standin"
    lib_dir = build_library(work / "lib")
    request = {"scenario": "cost", "interval_s": INTERVAL_S, "duration_s": SECONDS}
    for count in (1, 8):
        answer = run_harness(
            lib_dir,
            busy_gpus(count),
            {**request, "gpus": list(range(count))},
            work / f"{count}",
            timeout_s=120,
        )
        print(line(f"{count} GPU{'s' if count > 1 else ''} (stand-in driver)", answer), flush=True)
    probe = probe_gpus()
    if not probe.available:
        print(f"monitor: real driver: not measured ({probe.reason})")
        return
    real = run_harness(
        Path("/nonexistent"), None, {**request, "gpus": list(range(probe.count))}, work / "real"
    )
    print(line(f"{probe.count} GPU(s) {', '.join(sorted(set(probe.names)))} (real driver)", real))


if __name__ == "__main__":
    main()
