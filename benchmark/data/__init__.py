"""Where rows come from, one module per idea.

* :mod:`~benchmark.data.task`: the :class:`TaskConfig` (where a task's data comes from) and the
  :class:`Task` (X, y, groups, time) with its content hash.
* :mod:`~benchmark.data.build`: a table or in-memory arrays → Task (roles, encoding, subsampling).
* :mod:`~benchmark.data.registry`: the bundled datasets as pure data (``DATASETS``).
* :mod:`~benchmark.data.loaders`: registry datasets, CSV/Parquet files and OpenML → Task.
* :mod:`~benchmark.data.resolve`: a suite's task entry (``TaskConfig``) → Task, path checks.

Nothing is imported here, so that a caller loads only what it uses (the registry and resolve load
no pandas, so the CLI can check names and paths at parse time). No module here imports
``benchmark.config``: the suite depends on its data, not the other way round.
"""
