"""--backend ray at the CLI: one-line errors for a missing Ray, a cluster that is not there, bad --gpus."""

from __future__ import annotations

from pathlib import Path

from test_cli import _cli
from test_cli import _one_error_line as _error

SELECT = ("--models", "qwen3_8b", "--presets", "balanced", "--datasets", "gsm8k")


def test_without_ray_the_backend_says_how_to_install_it(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    (shadow / "ray").mkdir(parents=True)
    (shadow / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    for command in (["plan"], ["run", "--output", str(tmp_path / "out")]):
        line = _error(_cli(*command, *SELECT, "--backend", "ray", env={"PYTHONPATH": str(shadow)}))
        assert line == (
            "error: --backend ray needs Ray, which is not installed; "
            "install it with: pip install 'evalclient[ray]'"
        )


def test_a_cluster_that_is_not_there_is_reported_in_seconds(tmp_path: Path) -> None:
    line = _error(
        _cli("run", *SELECT, "--backend", "ray", "--ray-address", "127.0.0.1:9", "--output", str(tmp_path))
    )
    assert line.startswith(
        "error: cannot join the Ray cluster at 127.0.0.1:9: Connection refused; start one with"
    )


def test_gpu_indices_and_an_endpoint_do_not_go_with_the_ray_backend(tmp_path: Path) -> None:
    line = _error(_cli("run", *SELECT, "--backend", "ray", "--gpus", "0,1", "--output", str(tmp_path)))
    assert line == (
        "error: --gpus '0,1' with --backend ray: Ray assigns the GPUs of each node; "
        "pass --gpus auto (the nodes' GPUs) or virtual[:NxGB@CC] (stand-ins: no device in the containers)"
    )
    line = _error(
        _cli(
            "run", *SELECT, "--backend", "ray", "--endpoint", "http://127.0.0.1:9", "--output", str(tmp_path)
        )
    )
    assert line == "error: --endpoint and --backend ray exclude each other; drop one of them"
    line = _error(_cli("plan", *SELECT, "--backend", "ray", "--ray-address", "nowhere"))
    assert line == "error: --ray-address 'nowhere' is not HOST:PORT; e.g. --ray-address 10.0.0.1:6379"


def test_eval_all_on_a_cluster_needs_no_gpu_on_the_driver(tmp_path: Path) -> None:
    """The driver of a cluster sweep may have no GPU: eval-all goes on to join the cluster (absent here)."""
    result = _cli("eval-all", "--backend", "ray", "--ray-address", "127.0.0.1:9", "--output", str(tmp_path))
    assert _error(result).startswith("error: cannot join the Ray cluster at 127.0.0.1:9: Connection refused")
