"""Reports over the results tree: the summary table now; comparisons, scaling and plots later."""

from __future__ import annotations

from evalclient.report.summary import render_summary, summary_rows, write_summary

__all__ = ["render_summary", "summary_rows", "write_summary"]
