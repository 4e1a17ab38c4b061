"""The ``bench`` command line: run | report | rank | export | list.

Bad input is reported in one line naming the file/field and the fix, with exit code 2 and no
traceback. Imports are lazy so ``bench --help`` stays fast and never loads torch, xgboost or
catboost.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from benchmark import __version__
from benchmark.cli import argtypes
from benchmark.errors import BenchmarkError

log = logging.getLogger("benchmark")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench", description="Fair model comparison: equal tuning budgets, nested CV, significance tests, one HTML report.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    p.add_argument("--version", action="version", version=f"bench {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run (or resume) a suite", description="Run a suite: tasks × candidates × outer folds, each tuned with the same budget.")
    run.add_argument("suite", help="suite YAML file, e.g. suites/quick.yaml (or a name from `bench list suites`)")
    run.add_argument("--out", help="run directory (default: reports/<suite>-<timestamp>)")
    run.add_argument("--jobs", "-j", type=argtypes.positive_int, default=os.cpu_count() or 1, help="worker processes, one model thread each (default: number of cores)")
    run.add_argument("--seed", type=argtypes.seed, help="override the suite's seed")
    run.add_argument("--model-seed", type=argtypes.seed, help="seed of the models and the sampler only (splits keep --seed)")
    run.add_argument("--trials", type=argtypes.positive_int, help="override the suite's trials per candidate per outer fold")
    run.add_argument("--final", choices=("refit", "bag"), help="override the suite's final: refit the chosen configuration, or bag its inner-fold models (no refit)")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run (the latest of this suite, or --out)")
    run.add_argument("--force", action="store_true", help="resume even if the suite, data or versions changed")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--allow-outside", action="store_true", help="read data files that relative paths reach outside the current and the suite's folder")
    from benchmark.run.executors import EXECUTOR_HELP, executor_arg

    run.add_argument("--executor", type=executor_arg, default="local", metavar="{local,dask-local,dask://HOST:PORT}", help=EXECUTOR_HELP + "; see docs/cluster.md")

    rep = sub.add_parser("report", help="rebuild a run's HTML report from its records")
    rep.add_argument("run_dir")
    rep.add_argument("--out", help="output file (default RUN_DIR/report.html)")
    rep.add_argument("--force", action="store_true", help="report even if records.jsonl mixes records of different data or splits")

    from benchmark.cli import rank

    rank.add_parser(sub)

    from benchmark.cli import ci

    ci.add_parser(sub)

    from benchmark.cli import export

    export.add_parser(sub)

    lst = sub.add_parser("list", help="list candidates, datasets or suites")
    lst.add_argument("what", choices=["candidates", "datasets", "suites"])
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    previous = _terminate_like_ctrl_c()
    try:
        return _dispatch(args)
    except BenchmarkError as err:
        print(f"bench {args.command}: error: {_one_line(str(err))}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, _Terminated) else "interrupted"
        saved = "completed jobs are saved — continue with --resume" if args.command == "run" else "nothing was changed"
        print(f"bench {args.command}: {how}; {saved}", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the workers are stopped and what is stored stays."""


def _terminate_like_ctrl_c():
    """Make SIGTERM raise :class:`_Terminated` in the main thread; return the previous handler
    (None when signals cannot be set here, e.g. outside the main thread)."""
    def handler(signum, frame):
        raise _Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


def _one_line(text: str, limit: int = 2000) -> str:
    """An error as one line of bounded length (messages quote user text)."""
    text = " ".join(text.split("\n"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        return _report(args)
    if args.command == "rank":
        from benchmark.cli import rank

        return rank.run(args)
    if args.command == "export":
        from benchmark.cli import export

        return export.run(args)
    if args.command in ("baseline", "regress", "history"):
        from benchmark.cli import ci

        return ci.run(args)
    if args.command == "list":
        return _list(args.what)
    raise AssertionError(args.command)


def _report(args: argparse.Namespace) -> int:
    """``bench report``: with ``--out`` elsewhere it only reads the run (an archived, read-only
    run renders); without, it writes ``report.html`` and refreshes the exports in the run
    directory, as its writer (under the run's lock). Either way it waits for no running writer."""
    from benchmark.report import write_report
    from benchmark.results.store import Store, require_unmixed
    from benchmark.results.table import export_run

    store = Store(args.run_dir)
    store.read_manifest()  # clear error if not a run directory, before any lock file is made
    inside = args.out is None or Path(args.out).resolve().parent == store.root.resolve()
    if inside:  # refuse mixed records before taking the writer's lock (which notes its holder in .lock): a refusal writes nothing
        with store.reading():
            require_unmixed(args.run_dir, force=args.force)
    with store.writing("bench report") if inside else store.reading():
        require_unmixed(args.run_dir, force=args.force)  # clear error if records are mixed
        if inside:
            export_run(args.run_dir)
        path = write_report(args.run_dir, out=args.out)
    print(path)
    return 0


#: Where suites are looked up by name: the current project, then the suites shipped with the package.
_SUITE_DIRS = (Path("suites"), Path(__file__).resolve().parents[2] / "suites")


def _suite_path(text: str) -> Path:
    p = Path(text)
    try:
        if not p.exists() and not p.suffix:
            for cand in (d / f"{text}.yaml" for d in _SUITE_DIRS):
                if cand.exists():
                    return cand
    except OSError as exc:  # e.g. a name longer than the file system allows
        from benchmark.errors import InputError

        shown = text if len(text) <= 60 else text[:60] + f"… ({len(text)} characters)"
        raise InputError(f"cannot use this suite path ({exc.strerror}); give a suite YAML file or a name from `bench list suites`", where=shown) from None
    return p


def _run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    options = {"seed": args.seed, "trials": args.trials, "model_seed": args.model_seed, "final": args.final, "allow_outside": args.allow_outside}
    if args.resume and not args.force and _replay_finished(args, options, t0):
        return 0
    from benchmark.config import load_suite
    from benchmark.report import write_report
    from benchmark.run.driver import run_suite

    suite_path = _suite_path(args.suite)
    suite = load_suite(suite_path).with_overrides(seed=args.seed, trials=args.trials, model_seed=args.model_seed, final=args.final)
    _check_data_paths(suite, allow_outside=args.allow_outside)
    res = run_suite(suite, out=args.out, jobs=args.jobs, resume=args.resume, force=args.force, progress=not args.no_progress, isolate=True, executor=args.executor)
    t0 = time.perf_counter()
    from benchmark.results.finished import records_state
    from benchmark.results.store import Store

    records_seen = records_state(res.run_dir)

    unchanged = res.n_run == 0 and Store(res.run_dir).up_to_date("report.html")  # nothing ran: the report stands
    report = res.run_dir / "report.html" if unchanged else write_report(res.run_dir)
    seconds = res.seconds + time.perf_counter() - t0  # the time shown covers the report, as it always has
    ran = res.n_jobs - res.n_done_before
    lb = res.table().leaderboard()
    board = lb[["candidate", "mean_rank", "wins", "n_tasks", "n_failed"]].to_string(index=False) if not lb.empty else ""
    _print_run(res.run_dir, res.n_jobs, res.n_done_before, ran, res.n_failed, seconds, report, unchanged, board)
    if ran and res.n_failed == ran:
        print("bench run: error: every job failed; see the report's Failures section", file=sys.stderr)
        return 1
    _stamp_finished(suite, suite_path, res, options, board, records_seen, force=args.force)
    return 0


def _print_run(run_dir, n_jobs: int, resumed: int, ran: int, failed: int, seconds: float, report, unchanged: bool, board: str) -> None:
    print(f"run directory: {run_dir}")
    print(f"jobs: {n_jobs} ({resumed} resumed, {ran} run, {failed} failed) in {seconds:.1f} s")
    print(f"report: {report}" + (" (unchanged: nothing new to report)" if unchanged else ""))
    if board:
        print(board)


def _replay_finished(args: argparse.Namespace, options: dict, t0: float) -> bool:
    """``--resume`` of a finished run whose suite file, options, code, data and files are as its
    stamp says (:mod:`benchmark.results.finished`): print what the full path would, without
    loading the suite. False sends the re-run down the full path."""
    from benchmark.results import finished
    from benchmark.results.layout import RUNS_ROOT

    try:
        suite_path = _suite_path(args.suite)
        run_dir = Path(args.out) if args.out is not None else finished.stamped_run(RUNS_ROOT, suite_path)
        out = finished.replay(run_dir, suite_path, options) if run_dir is not None and suite_path.is_file() else None
    except Exception:  # an odd path, a damaged stamp: the full path says what is wrong
        return False
    if out is None:
        return False
    n = out["n_jobs"]
    _print_run(run_dir, n, n, 0, 0, time.perf_counter() - t0, run_dir / "report.html", True, out["leaderboard"])
    return True


def _stamp_finished(suite, suite_path: Path, res, options: dict, board: str, records_seen, *, force: bool) -> None:
    """Stamp a run with nothing left to do so that its next ``--resume`` can be answered
    without loading the suite (:mod:`benchmark.results.finished`). Not stamped: a suite whose
    results depend on more than its files, the data files, the plugins and the installed
    libraries (OpenML downloads, a candidate's own ``estimator``), and a run with a retryable
    record (``error_kind: infrastructure``: a resume tries those again), nor a ``--force``d one
    (whose records may mix what the full path refuses to mix). An earlier stamp is removed then."""
    from benchmark.results import finished
    from benchmark.results.layout import folder_name
    from benchmark.results.records import latest_jobs
    from benchmark.results.store import Store

    if (force or any(t.openml is not None for t in suite.tasks) or any(c.estimator is not None for c in suite.candidates)
            or not suite_path.is_file() or any(r.get("error_kind") == "infrastructure" for r in latest_jobs(Store(res.run_dir).records()))):
        finished.forget(res.run_dir)
        return
    files = [(t.path, suite.base_dir) for t in suite.tasks if t.path is not None]
    finished.write_stamp(res.run_dir, suite_path, options, files, prefix=folder_name(suite.name), n_jobs=res.n_jobs,
                         leaderboard=board, records_seen=records_seen)


def _check_data_paths(suite, *, allow_outside: bool) -> None:
    """Every file task's path stays in the project unless --allow-outside (see data.resolve.check_inside)."""
    from benchmark.data.resolve import check_inside
    from benchmark.errors import InputError

    for i, task in enumerate(suite.tasks):
        if task.path is not None:
            try:
                check_inside(task.path, suite.base_dir, allow_outside=allow_outside)
            except InputError as err:
                raise InputError(err.detail, where=f"{suite.source}: tasks[{i}].path") from None


def _list(what: str) -> int:
    if what == "candidates":
        from benchmark.candidates import registry

        for name, spec in registry().items():
            if spec.family == "test double":
                continue
            tunable = sorted(set().union(*spec.spaces.values())) if spec.spaces else []
            print(f"{name:15s} {spec.family:10s} {spec.description}")
            print(f"{'':15s} {'':10s} tunes: {', '.join(tunable) or '-'}")
        return 0
    if what == "datasets":
        import pandas as pd

        from benchmark.data.loaders import list_datasets

        with pd.option_context("display.width", 200, "display.max_colwidth", 70, "display.max_rows", 500):
            print(list_datasets().to_string(index=False))
        return 0
    seen = set()
    for root in _SUITE_DIRS:
        for f in sorted(root.glob("*.yaml")):
            if f.name in seen:
                continue
            seen.add(f.name)
            first = next((line[1:].strip() for line in f.read_text(encoding="utf-8").splitlines() if line.startswith("#")), "")
            print(f"{f.stem:12s} {f}  {first}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
