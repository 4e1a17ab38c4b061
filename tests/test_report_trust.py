"""What misled a reader of the report (issue 16), each checked on records built here: colours,
crowded curves, bands past the metric's range, the all-1.000 heat map, verdicts without power,
the single-task wording, post-hoc leaders; and the new tables (Elo, trade-off, overtuning,
failure-policy sensitivity, calibration metrics)."""

import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest

from benchmark.report import build_html
from benchmark.report.analysis import analyse
from benchmark.report.palette import COLOURS, styles
from benchmark.results.table import ResultTable

METRIC = "roc_auc"


def _records(cands: dict[str, float], *, tasks=("t1", "t2", "t3"), folds=3, noise=0.01, seed=0, post_hoc=(), failed=(), sd_of=None):
    """Job records: test AUC = base + noise; the default scored 0.02 lower on test and the inner score is optimistic."""
    rng = np.random.default_rng(seed)
    recs = []
    for t, (c, base), k in itertools.product(tasks, cands.items(), range(folds)):
        key = f"{t}\x1f{c}\x1f{k}"
        if (t, c, k) in failed or (t, c) in failed:
            recs.append({"type": "job", "key": key, "task": t, "candidate": c, "fold": k, "state": "failed", "metric": METRIC, "error": "boom",
                         "error_kind": "model", "traceback": "Traceback\nValueError: boom"})
            continue
        sd = (sd_of or {}).get(c, noise)
        v = float(np.clip(base + sd * rng.normal(), 0, 1))
        recs.append({"type": "job", "key": key, "task": t, "candidate": c, "fold": k, "state": "ok", "metric": METRIC, "n_train": 200, "n_test": 100,
                     "n_trials": 1 if c in post_hoc else 5, "post_hoc": c in post_hoc or None, f"test_{METRIC}": v, "test_brier": 0.1, "test_ece": 0.05,
                     "best_inner_score": v + 0.03, "best_trial": 3,
                     "budget_curve": [{"trials": 1, "trial_number": 0, "test": {METRIC: v - 0.02}}, {"trials": 5, "trial_number": 3, "test": {METRIC: v}}],
                     "fit_seconds": 0.1 * (1 + len(c)), "predict_seconds": 0.001 * (1 + len(c)), "model_bytes": 1000 * len(c),
                     "started": f"2026-01-01T00:{k:02d}:00+00:00", "total_seconds": 30.0})
    manifest = {"suite": {"name": "trust", "folds": folds, "trials": 5, "inner": 2}, "order": {"tasks": list(tasks), "candidates": list(cands)},
                "tasks": {t: {"metric": METRIC, "kind": "binary", "n_rows": 300, "n_features": 4, "n_missing": 0} for t in tasks}}
    return recs, manifest


def _html(recs, manifest):
    return build_html(ResultTable.from_records(recs, manifest), manifest, records=recs)


def _analysis(recs, manifest):
    return analyse(ResultTable.from_records(recs, manifest), manifest, recs)


# ---------------------------------------------------------------------------------------------
# colours


def _lab(hexcol: str) -> np.ndarray:
    rgb = np.array([int(hexcol[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_24_candidates_get_24_clearly_different_colours():
    names = [f"c{i}" for i in range(24)]
    st = styles(names)
    cols = [st[n].colour for n in names]
    assert len(set(cols)) == 24  # the old 16-colour palette gave the 17th candidate the first one's colour
    labs = [_lab(c) for c in COLOURS[:24]]
    assert min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs, 2)) >= 14  # ΔE*ab
    assert all(lab[0] < 92 for lab in labs)  # none too faint on white


# ---------------------------------------------------------------------------------------------
# curves


def test_bands_are_clipped_to_the_metric_range():
    from matplotlib.figure import Figure

    from benchmark.metrics import value_range
    from benchmark.report.figures import _band

    ax = Figure().subplots()
    _band(ax, [1, 2, 3], [0.97, 0.98, 0.99], [0.05, 0.05, 0.05], "#000000", bounds=value_range(METRIC))
    ys = np.concatenate([p.vertices[:, 1] for p in ax.collections[0].get_paths()])
    assert ys.max() <= 1.0 + 1e-12


def _tuning_frame(n_cands: int) -> pd.DataFrame:
    rows = []
    for i in range(n_cands):
        for trial in range(1, 6):
            m = 0.7 + 0.01 * i + 0.01 * trial
            rows.append({"task": "t", "candidate": f"cand{i}", "trial": trial, "mean": m, "sd": 0.05, "shuffled_mean": m})
    return pd.DataFrame(rows)


def test_tuning_curves_with_20_candidates_name_only_the_best_eight():
    from benchmark.report.figures import TOP_K, tuning_curve_figure

    tc = _tuning_frame(20)
    svg = tuning_curve_figure(tc, styles([f"cand{i}" for i in range(20)]), metric=METRIC, greater_is_better=True)
    named = [i for i in range(20) if re.search(rf">cand{i}<|>cand{i} ", svg)]
    assert named == list(range(20 - TOP_K, 20))  # the best eight (highest scores) are named
    assert "12 others" in svg


def test_a_line_partly_below_the_axis_is_said_to_be_so():
    from benchmark.report.figures import _scale_note

    assert _scale_note([0.5, 0.8, 0.83], (0.75, 0.9), 0.83) == " (partly below the axis; 0.83 at the end)"
    assert _scale_note([0.5, 0.55], (0.75, 0.9), 0.55) == " (off scale: 0.55)"
    assert _scale_note([0.8, 0.85], (0.75, 0.9), 0.85) == ""


# ---------------------------------------------------------------------------------------------
# significance and power


def test_heat_map_is_collapsed_when_no_pair_differs():
    recs, man = _records({"a": 0.80, "b": 0.80, "c": 0.80, "d": 0.80}, noise=0.05)
    html = _html(recs, man)
    assert "No pair of candidates differs significantly" in html
    assert 'class="heatmap"' not in html


def test_low_power_is_flagged_next_to_a_not_significantly_worse_verdict():
    # one task, 3 folds, 17 candidates: a dummy 0.3 below the best but noisy is "not significantly worse"
    cands = {f"m{i}": 0.80 + 0.001 * i for i in range(16)} | {"dummy": 0.5}
    recs, man = _records(cands, tasks=("only",), sd_of={"dummy": 0.25}, seed=1)
    a = _analysis(recs, man)
    cmp = a.per_task["only"][METRIC]
    assert not cmp.loc["dummy", "worse"]  # the design cannot tell
    html = _html(recs, man)
    cell = re.search(r'<td class="tie"[^>]*title="[^"]*low power[^"]*">(?:(?!</td>).)*<span class="lowpower">', html)
    assert cell is not None
    assert "cannot be detected with 80% power" in html


def test_three_tasks_cannot_detect_any_difference_and_say_so():
    recs, man = _records({"a": 0.9, "b": 0.8, "c": 0.7})
    a = _analysis(recs, man)
    assert math.isinf(a.mde_across)
    html = _html(recs, man)
    assert "no difference at all can be detected" in html
    assert 'class="lowpower"' in html  # on the leaderboard's non-significant p vs leader


# ---------------------------------------------------------------------------------------------
# single task, post hoc


def test_single_task_report_speaks_of_one_task_and_how_sure_we_are():
    recs, man = _records({"dummy": 0.5, "linear": 0.80, "knn": 0.83}, tasks=("data",), folds=5)
    html = _html(recs, man)
    assert "<title>Model comparison — data</title>" in html
    assert "1 tasks" not in html and "1 task ×" in html
    assert re.search(r"significantly</?b?>? ?better than linear|<b>not</b> significantly better than linear|significantly better than linear", html)
    assert "corrected t-test over 5 folds" in html
    assert "normalised score" not in html.split('id="leaderboard-table"')[1].split("</thead>")[0]
    assert "no missing values" in html and "took" in html


def test_a_post_hoc_leader_is_marked_and_the_equal_budget_leader_named():
    cands = {"ens": 0.86, "gbm": 0.85, "linear": 0.80, "dummy": 0.5}
    recs, man = _records(cands, tasks=tuple(f"t{i}" for i in range(8)), post_hoc={"ens"})
    a = _analysis(recs, man)
    assert a.leader == "ens" and a.equal_budget_leader == "gbm"
    html = _html(recs, man)
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert ">post hoc</span>" in summary and "Equal-budget leader: <b>gbm</b>" in summary
    assert "the ensemble's gain over it: mean gain +" in summary and "Wilcoxon–Holm" in summary
    board = html.split('id="leaderboard-table"')[1].split("</table>")[0]
    assert board.count(">post hoc</span>") == 1


# ---------------------------------------------------------------------------------------------
# new tables


def test_elo_table_and_column_render_with_the_reference_named():
    recs, man = _records({"random_forest": 0.85, "linear": 0.80, "dummy": 0.5}, tasks=("t1", "t2", "t3", "t4"))
    html = _html(recs, man)
    assert 'id="arena-table"' in html and "random_forest is anchored at 1000" in html
    assert "Elo [95 % CI] (random_forest = 1000)" in html
    assert "harmonic mean rank" in html


def test_tradeoff_table_marks_the_pareto_front():
    from benchmark.report.diagnostics import pareto, tradeoff_table

    score = pd.Series({"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.85})
    cost = pd.Series({"a": 10.0, "b": 1.0, "c": 5.0, "d": 20.0})
    assert pareto(score, cost).to_dict() == {"a": True, "b": True, "c": False, "d": False}
    jobs = [{"candidate": "a", "state": "ok", "fit_seconds": s, "predict_seconds": 0.01, "n_test": 500, "model_bytes": 100} for s in (1, 2, 9)]
    df = tradeoff_table(jobs, pd.Series({"a": 0.9})).set_index("candidate")
    assert df.loc["a", "train_seconds"] == 2 and df.loc["a", "predict_ms_per_1k"] == pytest.approx(20.0)
    recs, man = _records({"a": 0.9, "bb": 0.8, "ccc": 0.7})
    html = _html(recs, man)
    assert 'id="tradeoff-table"' in html and 'data-figure="tradeoff"' in html


def test_overtuning_from_the_stored_records():
    recs, man = _records({"a": 0.9, "b": 0.8})
    # make a's tuning lose to its default on every fold of t1
    for r in recs:
        if r["candidate"] == "a" and r["task"] == "t1":
            r["budget_curve"][0]["test"][METRIC] = r[f"test_{METRIC}"] + 0.05
    ov = _analysis(recs, man).overtuning.set_index("candidate")
    assert ov.loc["a", "worse_than_default"] == pytest.approx(3 / 9) and ov.loc["b", "worse_than_default"] == 0
    # inner AUC = test + 0.03: the inner error is 0.03 smaller, relative to the test error 1 − AUC
    gaps = [0.03 / (1 - r[f"test_{METRIC}"]) for r in recs if r["candidate"] == "a"]
    assert ov.loc["a", "inner_test_gap"] == pytest.approx(np.mean(gaps))


def test_failure_policy_table_only_when_something_failed():
    recs, man = _records({"a": 0.9, "b": 0.8, "c": 0.7}, tasks=("t1", "t2", "t3", "t4"))
    assert "Does the ranking depend on how failures count?" not in _html(recs, man)
    recs, man = _records({"a": 0.9, "b": 0.8, "c": 0.7}, tasks=("t1", "t2", "t3", "t4"), failed={("t1", "a"), ("t2", "a")})
    a = _analysis(recs, man)
    sv = a.sensitivity
    assert set(sv.ranks.columns) == {"drop", "last", "baseline"}
    assert sv.leaders["drop"] == "a" and sv.leaders["last"] != "a" and sv.leader_changes
    assert "The leader changes with the policy" in _html(recs, man)


def test_calibration_metrics_are_defined_and_shown():
    from sklearn.metrics import brier_score_loss

    from benchmark.metrics import ECE_BINS, METRICS

    rng = np.random.default_rng(0)
    p1 = rng.uniform(size=200)
    y = (rng.uniform(size=200) < p1).astype(int)
    proba = np.column_stack([1 - p1, p1])
    assert METRICS["brier"].fn(y, proba, 2) == pytest.approx(brier_score_loss(y, p1))
    # ECE by hand: 15 equal-width bins of the top-label confidence
    conf, correct = proba.max(axis=1), (proba.argmax(axis=1) == y)
    ece = sum(np.mean(b) * abs(correct[b].mean() - conf[b].mean())
              for k in range(ECE_BINS) if (b := (np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1) == k)).any())
    assert METRICS["ece"].fn(y, proba, 2) == pytest.approx(ece)
    assert not METRICS["ece"].greater_is_better and not METRICS["brier"].greater_is_better
    recs, man = _records({"a": 0.9, "b": 0.8})
    html = _html(recs, man)
    assert ">brier</th>" in html.replace(" title", "") or re.search(r"<th[^>]*>brier</th>", html)
    assert re.search(r"<th[^>]*>ece</th>", html)
