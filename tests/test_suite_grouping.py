"""The test suite's own promise: the 100-study sample is made once per `make test`."""

import pytest


@pytest.mark.slow
def test_tests_of_the_shared_sample_run_in_one_group(request, sample_source):
    """Under `pytest -n 2 --dist loadgroup` every test of the shared sample carries the group
    suffix, so xdist sends them all to one worker and the 100-study release is cut once (a
    pytest that xdist cannot suffix silently cuts it once per worker)."""
    if not request.config.getoption("loadgroup", default=False):
        pytest.skip("only meaningful under pytest -n N --dist loadgroup (make test)")
    assert request.node.nodeid.endswith("@sample")
