"""Facts read from stored job records: the latest record per job, fits spent."""

from benchmark.results.records import job_key, latest_jobs
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
