"""Threads per model, shared by every executor (a leaf module: it imports nothing)."""

from __future__ import annotations

#: Threads each model may use: one; parallelism comes from worker processes. Multi-threading a
#: single small fit costs more than it gains (OpenMP start-up and spinning; HistGB on iris: 0.2 s
#: with one thread, 5 s with two while the other core is busy).
MODEL_THREADS = 1

#: Environment variables that set the thread count of the numeric libraries in a worker process.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
