"""The library call and the first report."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from benchmark import compare
from benchmark.errors import InputError
from benchmark.testing import make_frame


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, y = X.iloc[::2], y.iloc[::2]  # 285 rows keep it quick
    out = tmp_path_factory.mktemp("cmp") / "run"
    return compare(X, y, candidates=["dummy", "linear", "knn"], trials=2, folds=3, inner=2, metric="roc_auc", out=out, name="<script>alert(1)</script>")


def test_compare_returns_tidy_results_and_leaderboard(result):
    df = result.results
    assert len(df) == 3 * 3 and set(df["candidate"]) == {"dummy", "linear", "knn"}
    assert {"fold", "state", "n_trials", "fit_seconds", "test_roc_auc", "test_accuracy", "test_log_loss"} <= set(df.columns)
    lb = result.leaderboard
    assert list(lb.columns[:4]) == ["candidate", "roc_auc_mean", "roc_auc_std", "mean_rank"]  # named after the metric
    # the leaderboard's mean is the mean of the fold scores
    for row in lb.itertuples():
        assert row.roc_auc_mean == pytest.approx(df[df.candidate == row.candidate]["test_roc_auc"].mean())
    assert lb.iloc[0]["candidate"] == "linear" and lb.iloc[-1]["candidate"] == "dummy"
    assert lb["roc_auc_mean"].iloc[-1] == pytest.approx(0.5, abs=0.05)  # the prior predicts one constant: AUC 0.5
    assert "p_vs_best" in lb.columns


def test_report_is_self_contained_and_escapes_names(result, tmp_path):
    path = result.write_report(tmp_path / "r.html")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>alert(1)</script>" not in page  # a name with HTML is shown as text, never run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "no external resources"
    assert "url(http" not in page and "@import" not in page
    for section in ("Leaderboard", "Per task", "Budget and cost", "Provenance"):
        assert section in page


def test_compare_regression_with_categoricals_and_missing_values(tmp_path):
    X = make_frame(150)
    y = X["x1"].fillna(0).to_numpy() * 3 + np.random.default_rng(0).normal(size=150)
    res = compare(X, y, candidates=["dummy", "linear"], trials=2, folds=3, inner=2, out=tmp_path / "r")
    assert res.metric == "rmse"
    lb = res.leaderboard.set_index("candidate")
    assert lb.loc["linear", "rmse_mean"] < lb.loc["dummy", "rmse_mean"]  # lower RMSE is better
    assert lb.index[0] == "linear"


def test_compare_bad_input_is_a_clear_error():
    X, y = make_frame(60), np.arange(60) % 2
    with pytest.raises(InputError, match="unknown candidate 'forest'"):
        compare(X, y, candidates=["forest"])
    with pytest.raises(InputError, match="trials"):
        compare(X, y, candidates=["dummy"], trials=0)
    with pytest.raises(InputError, match="metric 'rmse' does not apply"):
        compare(X, y, candidates=["dummy"], metric="rmse")
    with pytest.raises(InputError):
        compare(X, pd.Series(np.arange(59) % 2), candidates=["dummy"])  # mismatched lengths


def test_compare_can_switch_off_the_curves(tmp_path):
    from benchmark.results.store import Store

    X, y = make_frame(90), np.arange(90) % 2
    res = compare(X, y, candidates=["dummy", "linear"], trials=2, folds=3, inner=2, out=tmp_path / "r",
                  learning_curve=False, budget_curve=False)
    recs = [r for r in Store(res.run_dir).records() if r["type"] == "job"]
    assert len(recs) == 6
    assert all(not r.get("learning_curve") and not r.get("budget_curve") for r in recs)
    with pytest.raises(InputError, match="learning_curve"):
        compare(X, y, candidates=["dummy"], learning_curve=[0.5, 2.0])
