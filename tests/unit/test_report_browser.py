"""The HTML report opened in a real headless browser (Debian's chromium): it renders, with its plots, from
the file alone. Skipped with the reason where chromium is absent (CI installs it and sets
EVALCLIENT_REQUIRE_CHROMIUM=1, which turns the skip into a failure)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_tree import build_tree

from evalclient.report import ModelInfo, build_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Loads the report in a frame and writes what the browser made of it into its own DOM.
PROBE = """<!DOCTYPE html><html><body>
<iframe id="report" src="report.html" width="1400" height="3000"></iframe>
<script>
document.getElementById("report").onload = () => {
  const doc = document.getElementById("report").contentDocument;
  const plots = [...doc.querySelectorAll("img.plot")];
  const drawn = plots.filter(
    (img) => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0
  );
  const result = document.createElement("p");
  result.id = "result";
  const contents = doc.querySelectorAll("nav a").length;
  result.textContent = `plots ${drawn.length}/${plots.length} contents ${contents}`;
  document.body.appendChild(result);
};
</script></body></html>
"""


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    if CHROMIUM is None:
        if os.environ.get("EVALCLIENT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required here (EVALCLIENT_REQUIRE_CHROMIUM=1) but not installed")
        pytest.skip("no chromium on this machine: apt-get install -y chromium")
    models = {"qwen2.5_8b": ModelInfo("qwen2.5", "8b", 7.6), "qwen2.5_14b": ModelInfo("qwen2.5", "14b", 14.7)}
    return build_reports(build_tree(tmp_path / "run"), models).html


def test_the_page_renders_its_plots_offline(page: Path, tmp_path: Path) -> None:
    probe = page.parent / "probe.html"
    probe.write_text(PROBE)
    result = chromium(
        tmp_path / "profile",
        "--allow-file-access-from-files",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probe.as_uri(),
    )
    found = re.search(r'<p id="result">([^<]*)</p>', result.stdout)
    assert found is not None, result.stderr[-2000:]
    assert found.group(1) == "plots 5/5 contents 5"  # every plot decoded and laid out; 5 sections listed


def test_a_screenshot_shows_the_plots(page: Path, tmp_path: Path) -> None:
    import numpy as np
    from matplotlib import image

    shot = tmp_path / "report.png"
    result = chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,3000", page.as_uri())
    assert shot.exists(), result.stderr[-2000:]
    pixels = image.imread(shot)[..., :3]
    assert pixels.shape == (3000, 1400, 3)
    # matplotlib's first colour (#1f77b4) fills the bars of the first plot: they are on screen
    blue = np.all(np.abs(pixels - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.02, axis=-1)
    assert int(blue.sum()) > 2000
