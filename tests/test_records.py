"""Facts read from stored job records: the latest record per job, fits spent."""

from benchmark.results.records import job_key, latest_jobs, model_fits, n_fits
from benchmark.results.table import ResultTable


def _rec(task, cand, fold, **kw):
    return {"type": "job", "task": task, "candidate": cand, "fold": fold, "state": "ok", "metric": "roc_auc", **kw}


def test_latest_record_of_each_job_wins_in_first_seen_order():
    recs = [_rec("t", "A", 0, test_roc_auc=0.1), {"type": "note"}, _rec("t", "B", 0, test_roc_auc=0.5), _rec("t", "A", 0, test_roc_auc=0.9)]
    jobs = latest_jobs(recs)
    assert [job_key(r) for r in jobs] == [("t", "A", 0), ("t", "B", 0)]
    assert jobs[0]["test_roc_auc"] == 0.9
    assert latest_jobs([]) == []


def test_result_table_reads_the_same_latest_records():
    recs = [_rec("t", "A", 0, test_roc_auc=0.1), _rec("t", "A", 0, test_roc_auc=0.9), _rec("t", "A", 1, test_roc_auc=0.7)]
    df = ResultTable.from_records(recs, {}).df
    assert list(df["fold"]) == [0, 1] and list(df["test_roc_auc"]) == [0.9, 0.7]


def test_fits_are_counted_from_the_record_or_its_trials():
    trials = [{"state": "ok", "fold_values": [0.1, 0.2]}, {"state": "failed", "fold_values": [0.3]}, {"state": "failed"}]
    assert n_fits(trials) == 2 + 2 + 1
    assert model_fits({"n_fits": 7, "trials": trials, "state": "ok"}) == 7
    assert model_fits({"trials": trials, "state": "ok"}) == 6  # an old record: tuning fits + the final refit
    assert model_fits({"trials": trials, "state": "failed"}) == 5
