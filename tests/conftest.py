import pytest

from benchmark.testing import make_frame


@pytest.fixture
def frame():
    return make_frame()
