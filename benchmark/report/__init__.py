"""The HTML report: one self-contained file (inline CSS, JS and SVG; no external URLs).

``write_report(run_dir)`` rebuilds it from the stored records; nothing is refitted, so a layout
or statistics change applies to old runs, and an incomplete run shows what it has.

``build_html`` and ``write_report`` are loaded on first use, so that the small shared helpers
(``report.markup``, ``report.palette``) that ``bench rank`` and ``ci/`` use do not pull in pandas
and matplotlib.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_html", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from benchmark.report import html

        return getattr(html, name)
    raise AttributeError(f"module 'benchmark.report' has no attribute '{name}'")
