"""Where rows come from, one module per idea.

* :mod:`~benchmark.data.task`: the :class:`Task` (X, y, groups, time) and its content hash.
* :mod:`~benchmark.data.build`: a table or in-memory arrays → Task (roles, encoding, subsampling).
* :mod:`~benchmark.data.registry`: the bundled datasets as pure data (``DATASETS``).
* :mod:`~benchmark.data.loaders`: registry datasets, CSV/Parquet files and OpenML → Task.
* :mod:`~benchmark.data.resolve`: a suite's task entry (``config.TaskConfig``) → Task, path checks.

Nothing is imported here: ``benchmark.config`` imports the registry, and ``resolve`` imports
``benchmark.config``, so an eager import would make a cycle (and load pandas at parse time).
"""
