"""The queue: fold-major (a partial run covers every candidate), costliest jobs first within a fold."""

from benchmark.candidates import get_spec
from benchmark.config import parse_suite
from benchmark.run.driver import expand_jobs, job_cost, load_tasks, make_plans


def test_jobs_run_fold_by_fold_and_costliest_first_within_a_fold():
    suite = parse_suite({
        "name": "order", "folds": 2, "inner": 2, "trials": 1, "learning_curve": False, "budget_curve": False,
        "tasks": [{"dataset": "iris"}, {"dataset": "breast_cancer"}],
        "candidates": ["dummy", "linear", "random_forest", "tabm", "knn", "catboost"],
    })
    tasks = load_tasks(suite)
    jobs = expand_jobs(suite, tasks, make_plans(suite, tasks), in_memory=False, n_threads=1)
    assert len(jobs) == 2 * 2 * 6
    folds = [j.fold.index for j in jobs]
    assert folds == sorted(folds)  # every job of fold 0 before any of fold 1
    for k in (0, 1):
        costs = [job_cost(j) for j in jobs if j.fold.index == k]
        assert costs == sorted(costs, reverse=True)
    # the cost is the candidate's relative cost times the outer training rows, computed independently
    first = jobs[0]
    assert first.candidate.name == "tabm" and first.task.name == "breast_cancer"
    assert job_cost(first) == get_spec("tabm").cost * len(first.fold.train)
    # the cheapest end the queue: dummy and linear (equal cost: the suite's order) on the smaller task
    assert [(j.task.name, j.candidate.name) for j in jobs[-2:]] == [("iris", "dummy"), ("iris", "linear")]
