"""``python -m benchmark`` is the same as the ``bench`` command."""

from benchmark.cli import main

raise SystemExit(main())
