"""The run directory: written by one driver, read the same way by everyone else.

* :mod:`~benchmark.results.store`: the append-only writer and the reader of its files
  (``manifest.json``, ``records.jsonl``, ``oof/``), and the refuse-to-mix checks;
* :mod:`~benchmark.results.records`: facts about stored records (the latest record per job,
  fit counts), plain Python;
* :mod:`~benchmark.results.table`: :class:`~benchmark.results.table.ResultTable`, the one
  table view of a run that the report, ``bench rank``, ``compare()`` and ``ci/`` use, and the
  CSV exports.

Nothing outside this package opens a run directory's files.
"""
