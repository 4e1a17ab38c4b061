import os

# The test double ``fault`` (benchmark.testing) is a candidate plugin. Set before anything loads
# the candidate registry; worker processes (spawned pools, local Dask workers) inherit it.
# Set outright, not appended to, so a developer's own plugins cannot change the tests.
os.environ["BENCHMARK_PLUGINS"] = "benchmark.testing"

import pytest  # noqa: E402

from benchmark.testing import make_frame  # noqa: E402


@pytest.fixture
def frame():
    return make_frame()
