"""Where RealMLP and TabM rank among the other candidates on the standard suite's datasets.

    .venv/bin/python benchmarks/nets.py --from runs/standard-XXXX     # read a finished run: no fits
    .venv/bin/python benchmarks/nets.py                                 # run suites/standard.yaml as is (hours on 2 cores)
    .venv/bin/python benchmarks/nets.py --small                         # 3 datasets, 300 rows, 2 folds, 2 trials, few
                                                                        # candidates: a few minutes
    .venv/bin/python benchmarks/nets.py --compare-tabm 10               # our TabM loop against pytabkit's TabM

Runs the suite (or a smaller setting of it, with the same datasets and candidate entries) into a
run directory, then prints the leaderboard of ``ResultTable.leaderboard`` (mean rank across
datasets, 1 = best, each dataset ranked by its tuning metric) with realmlp and tabm marked, and
each net's mean rank against the rest. Not a test: its figures depend on the machine and budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NETS = ("realmlp", "tabm")
#: --small: the nets, the plain nets and a few strong and weak references, on three datasets
SMALL = {
    "tasks": ["breast_cancer", "penguins", "concrete"],
    "candidates": ["dummy", "linear", "random_forest", "lightgbm", "mlp", "realmlp", "tabm"],
    "max_rows": 300, "folds": 2, "trials": 2,
}


def small_suite(raw: dict, *, tasks: list[str], candidates: list[str], max_rows: int, folds: int, trials: int) -> dict:
    """The standard suite cut down: the named datasets and candidates (their entries kept as the
    suite writes them, epoch caps included), fewer rows, folds and trials, no curves."""
    def name(entry) -> str:
        return entry if isinstance(entry, str) else entry.get("name")

    def dataset(entry) -> str:
        return entry if isinstance(entry, str) else entry.get("dataset")

    out = dict(raw)
    out.update(
        name=f"{raw.get('name', 'standard')}-nets-small",
        tasks=[t for t in raw["tasks"] if dataset(t) in tasks],
        candidates=[c for c in raw["candidates"] if name(c) in candidates],
        max_rows=max_rows, folds=folds, trials=trials, learning_curve=False,
    )
    return out


def run(args: argparse.Namespace) -> Path:
    import yaml

    from benchmark.config import parse_suite
    from benchmark.run.driver import run_suite

    raw = yaml.safe_load((ROOT / args.suite).read_text())
    if args.small:
        raw = small_suite(raw, **SMALL)
    suite = parse_suite(raw, source=str(ROOT / args.suite), base_dir=str(ROOT))
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="nets-")) / "run"
    print(f"running {suite.name}: {len(suite.tasks)} datasets x {len(suite.candidates)} candidates, "
          f"{suite.folds} folds, {suite.trials} trials -> {out}", flush=True)
    res = run_suite(suite, out=out, jobs=args.jobs, progress=False)
    return Path(res.run_dir)


def report(run_dir: Path) -> None:
    import pandas as pd

    from benchmark.results.table import ResultTable

    table = ResultTable.from_run(run_dir)
    board = table.leaderboard()
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        shown = board.copy()
        if "candidate" in shown.columns:
            shown["candidate"] = [f"{c} *" if c in NETS else c for c in shown["candidate"]]
        print(shown.to_string(index=False))
    ranks = dict(zip(board["candidate"], board["mean_rank"], strict=True))
    n = len(ranks)
    for net in NETS:
        if net in ranks:
            better = sorted(c for c, r in ranks.items() if r < ranks[net])
            print(f"{net}: mean rank {ranks[net]:.2f} of {n} candidates; ranked better on average: {', '.join(better) or 'none'}")
        else:
            print(f"{net}: no result in {run_dir}")


def compare_tabm(epochs: int, threads: int) -> None:
    """Our TabM (tabm package, our loop) against pytabkit's TabM_D with the same settings:
    TabM-mini, k=32, 2 blocks of 512, piecewise-linear embeddings (48 bins, 16 dims), the same
    learning rate and weight decay, batch size 32, ``epochs`` epochs without early stopping, on
    breast_cancer (75/25 split). Prints fit seconds and test ROC AUC of both."""
    import time
    import warnings

    import numpy as np
    from sklearn.base import clone
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import QuantileTransformer

    from benchmark.candidates.tabmnet import TabMClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X.astype(np.float32), y, test_size=0.25, random_state=0, stratify=y)
    qt = QuantileTransformer(output_distribution="normal", n_quantiles=256, random_state=0).fit(X_tr)
    common = dict(lr=2e-3, weight_decay=3e-4, batch_size=32, random_state=0, n_threads=threads, device="cpu")
    ours = TabMClassifier(max_epochs=epochs, patience=epochs + 1, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pytabkit import TabM_D_Classifier

        theirs = TabM_D_Classifier(arch_type="tabm-mini", tabm_k=32, num_emb_type="pwl", num_emb_n_bins=48, d_embedding=16,
                                   d_block=512, n_blocks=2, dropout=0.1, n_epochs=epochs, patience=epochs + 1,
                                   gradient_clipping_norm=1.0, val_metric_name="cross_entropy", val_fraction=0.2, **common)
    print(f"TabM implementations, breast_cancer, {epochs} epochs, CPU, {threads} thread(s)")
    runs = [("ours (tabm package)", ours, qt.transform(X_tr), qt.transform(X_te)),
            ("pytabkit TabM_D", theirs, X_tr, X_te)]  # pytabkit quantile-transforms itself
    for label, est, Xa, Xb in runs + runs[:1]:  # ours again last: a shared machine's load shows in the two figures
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = clone(est).fit(Xa, y_tr)
        sec = time.perf_counter() - t
        print(f"  {label:22} {sec:7.2f} s   test AUC {roc_auc_score(y_te, est.predict_proba(Xb)[:, 1]):.4f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="from_dir", help="a finished run directory to read instead of running")
    ap.add_argument("--suite", default="suites/standard.yaml")
    ap.add_argument("--small", action="store_true", help="a cut-down setting of the suite (minutes, not hours)")
    ap.add_argument("--out", help="run directory (default: a temporary one)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--compare-tabm", type=int, metavar="EPOCHS", help="only time our TabM against pytabkit's for EPOCHS epochs")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.compare_tabm:
        compare_tabm(a.compare_tabm, a.threads)
        return 0
    run_dir = Path(a.from_dir) if a.from_dir else run(a)
    report(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
