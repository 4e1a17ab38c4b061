"""Errors the toolkit raises for bad input.

Every message names the culprit (file, field, column) and the fix, on one line, so the command
line can print it without a traceback and exit with code 2.
"""

from __future__ import annotations


class BenchmarkError(Exception):
    """Base class for errors that the command line reports in one line (exit code 2)."""

    exit_code = 2


class InputError(BenchmarkError, ValueError):
    """Bad user input: a suite, a dataset, a column, an argument.

    ``where`` is the place to blame (``suites/quick.yaml: tasks[2].target``); it is prefixed to
    the message when given.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        self.detail = message
        super().__init__(f"{where}: {message}" if where else message)

    def at(self, prefix: str) -> InputError:
        """Return this error blamed on ``prefix`` + the current location (outer first)."""
        if not self.where:
            return InputError(self.detail, where=prefix)
        sep = "" if self.where.startswith("[") else "."
        return InputError(self.detail, where=f"{prefix}{sep}{self.where}")


class IncompatibleRunError(BenchmarkError):
    """A resume, report or comparison would mix runs that differ (suite, data, versions)."""


class RunBusyError(BenchmarkError):
    """Another process is writing to the run directory (it holds the run's lock)."""
