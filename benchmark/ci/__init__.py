"""CI regression tracking: compare a run against a baseline and decide whether anything got worse.

One module per concern, each pure except the readers and writers:

* :mod:`~benchmark.ci.snapshot`: :class:`Snapshot`, a run reduced to what a comparison needs,
  and :func:`snapshot_from_run`, which reads a run directory through :mod:`benchmark.results`;
* :mod:`~benchmark.ci.baseline`: the baseline JSON file (:func:`write_baseline`,
  :func:`read_baseline`, :func:`load_snapshot` for a file or a run directory);
* :mod:`~benchmark.ci.compatible`: :func:`check_comparable` → ``(blocking, context)``;
* :mod:`~benchmark.ci.rule`: :class:`Options`, :class:`Tolerance` and the decision rule,
  :func:`compare` (one-sided corrected t-tests, Holm, time and failure checks);
* :mod:`~benchmark.ci.result`: the frozen :class:`RegressionResult` (``exit_code`` 0 no
  regression, 1 regression) with :class:`Comparison` and :class:`Finding`;
* :mod:`~benchmark.ci.render`: its text, Markdown and JUnit renderings;
* :mod:`~benchmark.ci.history`: runs kept by commit and the trend page.

The names below are re-exported for the command line and library users.
"""

from __future__ import annotations

from benchmark.ci.baseline import (
    dumps_baseline,
    load_snapshot,
    read_baseline,
    snapshot_from_dict,
    write_baseline,
)
from benchmark.ci.compatible import check_comparable, machine_class, require_comparable
from benchmark.ci.render import (
    error_junit,
    error_markdown,
    render_junit,
    render_markdown,
    render_text,
)
from benchmark.ci.result import Comparison, Finding, RegressionResult
from benchmark.ci.rule import Options, Tolerance, compare, one_sided_p
from benchmark.ci.snapshot import (
    FORMAT,
    FORMAT_VERSION,
    Snapshot,
    incomplete_cells,
    snapshot_from_run,
)

__all__ = [
    "FORMAT", "FORMAT_VERSION", "Comparison", "Finding", "Options", "RegressionResult", "Snapshot", "Tolerance",
    "check_comparable", "compare", "dumps_baseline", "error_junit", "error_markdown", "incomplete_cells",
    "load_snapshot", "machine_class", "one_sided_p", "read_baseline", "render_junit", "render_markdown",
    "render_text", "require_comparable", "snapshot_from_dict", "snapshot_from_run", "write_baseline",
]
