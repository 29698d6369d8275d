"""On a real GPU, runs that blow up fail alone: their neighbours in the same warp get their own answers."""

import numpy as np
import pytest
from against_cpu import assert_same, solve_on_both

import batchode

pytestmark = pytest.mark.gpu

# y' = a y^2, y(0) = 1: y = 1 / (1 - a t) blows up at t = 1 / a, inside
# t in [0, 2] for a = 1 and a = 50 (runs 1 and 3), after it for the others.
BLOWUP = batchode.ODESystem.from_equations("dy = a * y**2", parameters={"a": 1.0}, initial_state={"y": 1.0})
RATES = np.array([-1.0, 1.0, 0.25, 50.0, 0.4])
FAILING = [1, 3]
FINE = [0, 2, 4]


def test_a_run_that_blows_up_leaves_the_others_alone():
    gpu, cpu = solve_on_both(BLOWUP, (0.0, 2.0), {}, parameters={"a": RATES}, save_every=0.5)
    alone, alone_on_cpu = solve_on_both(BLOWUP, (0.0, 2.0), {}, parameters={"a": RATES[FINE]}, save_every=0.5)
    # The failing runs stop at their blow-up (to the integration's accuracy), on both backends.
    assert not gpu.success[FAILING].any() and not cpu.success[FAILING].any()
    assert np.isnan(gpu.final_state[FAILING]).all()
    np.testing.assert_allclose(gpu.t_final[FAILING], 1.0 / RATES[FAILING], rtol=1e-6)
    # The others: the exact answer, the CPU's, and bit for bit those of a batch without the failing runs.
    assert gpu.success[FINE].all()
    np.testing.assert_allclose(gpu.final_state[FINE, 0], 1.0 / (1.0 - 2.0 * RATES[FINE]), rtol=1e-6)
    assert_same(alone, alone_on_cpu)
    for name in ("y", "y_final", "t_final", "n_accepted", "n_rejected", "status"):
        np.testing.assert_array_equal(getattr(gpu, name)[FINE], getattr(alone, name), err_msg=name)
