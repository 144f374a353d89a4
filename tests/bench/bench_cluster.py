"""`make bench`: the Ray backend's test sweep (2 models x 3 presets x 2 datasets, simulator containers) on a
local Ray cluster of one node versus two, one virtual GPU per node: the sweep's wall time on each.

Each run is the CLI a user runs (`evalclient run --backend ray`), timed from start to exit, against a fresh
cluster; the simulator image takes ~2 s to become ready and answers in 15 ms decode steps, so most of a
deployment's time is waiting on the server, which a second node halves. Figures go to .bench/cluster.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalclient.sweep.demo import demo_data_dir

ROOT = Path(__file__).resolve().parents[2]
SIM_FLAGS = ("--startup-delay", "2", "--decode-step-ms", "15")


def _image() -> str:
    from evalclient.deploy.docker_engine import connect
    from evalclient.host.sim_image import ensure_sim_image, sim_variant

    client = connect()
    return sim_variant(client, ensure_sim_image(client), SIM_FLAGS)


def _sweep(nodes: int, image: str) -> float:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 1}, connect=False)
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1, num_gpus=1)
        cluster.wait_for_nodes()
        with tempfile.TemporaryDirectory() as out:
            args = [
                sys.executable, "-m", "evalclient", "run", "--models", "qwen2.5_8b,qwen3_8b",
                "--presets", "all", "--datasets", "gsm8k,arc_challenge:generative", "--samples", "6",
                "--image", image,
                "--output", out, "--data-dir", str(demo_data_dir()), "--concurrency", "2", "--quiet",
                "--backend", "ray", "--ray-address", cluster.address, "--gpus", "virtual",
            ]  # fmt: skip
            started = time.monotonic()
            done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
            wall = time.monotonic() - started
            if done.returncode != 0:
                sys.exit(f"bench_cluster: the {nodes}-node sweep failed:\n{done.stderr[-2000:]}")
            return wall
    finally:
        cluster.shutdown()


def main() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        print("bench_cluster: Ray is not installed (pip install 'evalclient[ray]'); skipped")
        return
    image = _image()
    one, two = _sweep(1, image), _sweep(2, image)
    print("Ray backend, 2 models x 3 presets x 2 datasets (6 samples each), simulator containers")
    print(f"  1 node  (1 virtual GPU):  {one:6.1f} s")
    print(f"  2 nodes (1 virtual GPU each): {two:6.1f} s  ({two / one:.2f}x the one-node time)")
    results = {"one_node_s": round(one, 1), "two_nodes_s": round(two, 1), "ratio": round(two / one, 2)}
    path = ROOT / ".bench" / "cluster.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
