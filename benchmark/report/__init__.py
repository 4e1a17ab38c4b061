"""The HTML report: one self-contained file (inline CSS, JS and SVG; no external URLs).

``write_report(run_dir)`` rebuilds it from the stored records; nothing is refitted, so a layout
or statistics change applies to old runs, and an incomplete run shows what it has.
"""

from __future__ import annotations

from benchmark.report.html import build_html, write_report

__all__ = ["build_html", "write_report"]
