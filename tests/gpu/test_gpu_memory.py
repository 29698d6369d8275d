"""Buffers moved to shared memory on a real GPU: same results; moved back: the original kernel and answer."""

import re

import numpy as np
import pytest
from against_cpu import SETTINGS, assert_same

import batchode
from batchode.systems.examples import lorenz, van_der_pol

pytestmark = pytest.mark.gpu

# Each case moves the buffers a step works in, and some that keep their
# contents between steps, to SHARED; the values are the default locations.
CASES = {
    "tsit5": (lorenz, {"rho": [5.0, 15.0, 28.0]}, {
        "loop_state_location": "local", "loop_proposal_location": "local", "loop_error_location": "local",
        "loop_algorithm_stage_state_location": "local", "loop_algorithm_fsal_cache_location": "local_persistent",
        "loop_controller_history_location": "local_persistent"}),
    "rodas5p": (van_der_pol, {"mu": [1.0, 10.0, 100.0]}, {
        "loop_state_location": "local", "loop_algorithm_stage_rhs_location": "local",
        "loop_algorithm_linear_factors_location": "local_persistent",
        "loop_algorithm_interpolation_increments_location": "local_persistent"}),
}


def shared_elements(solver) -> int:
    """Shared-memory elements per thread of the solver's whole kernel (the tree's first line)."""
    return int(re.search(r"by location: shared (\d+)", solver.describe_memory()).group(1))


@pytest.mark.parametrize("method", list(CASES))
def test_buffers_in_shared_memory_and_back(method):
    system, parameters, defaults = CASES[method]
    solver = batchode.Solver(system(), method=method, backend="cuda", **SETTINGS)
    batch = dict(parameters=parameters, save_every=0.05, progress=False)
    layout = solver.describe_memory()
    assert shared_elements(solver) == 0
    local = solver.solve((0.0, 1.0), **batch)

    solver.update(**dict.fromkeys(defaults, "shared"))
    assert shared_elements(solver) > 0
    shared = solver.solve((0.0, 1.0), **batch)
    assert shared.success.all()
    assert_same(shared, local)  # the same arithmetic; only where its operands live has changed

    solver.update(**defaults)
    assert solver.describe_memory() == layout
    back = solver.solve((0.0, 1.0), **batch)
    np.testing.assert_array_equal(back.y, local.y)
