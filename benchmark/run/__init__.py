"""Suite → records: everything that runs a comparison, and nothing that reports it.

* :mod:`~benchmark.run.driver`: ``run_suite`` (tasks, fold plans, jobs, resume, the store);
  returns a ``RunResult`` (run directory, job counts, seconds); the callers write the report;
* :mod:`~benchmark.run.worker`: one pure job function (a job in, a record out);
* :mod:`~benchmark.run.tuning`: equal-budget tuning on the inner folds (Optuna);
* :mod:`~benchmark.run.curves`: the worker's side of learning and budget curves;
* :mod:`~benchmark.run.ensembles`: post-hoc ensemble selection from stored predictions;
* :mod:`~benchmark.run.limits`: per-fit time limits;
* :mod:`~benchmark.run.records`: the one builder of records (ok, failed, timeout, crash, lost);
* :mod:`~benchmark.run.executors`: where jobs run (inline, a process pool, Dask).
"""
