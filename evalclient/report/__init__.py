"""Reports over the results tree: the summary (metrics/aggregated), model, dataset, scaling and preset
analyses in Markdown, one HTML page, and the key tables in the terminal."""

from __future__ import annotations

from evalclient.report.build import Reports, build_reports
from evalclient.report.context import ModelInfo
from evalclient.report.summary import render_summary, summary_rows

__all__ = ["ModelInfo", "Reports", "build_reports", "render_summary", "summary_rows"]
