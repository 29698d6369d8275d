"""Float32 implicit runs on the 40-state Brusselator in the simulator, with GMRES and by default.

With the Krylov tolerance derived from rtol and the precision, a GMRES run
takes the steps of the CPU's dense LU (see tests/implicit/test_float32_krylov.py);
with the old fixed 1e-8 it took hundreds of times more. The CUDA default
for this system is the sparse LU, whose factors take less memory than
GMRES's basis.
"""

import numpy as np
import pytest

import batchode
from batchode.systems.examples import brusselator

pytestmark = pytest.mark.cudasim


@pytest.mark.parametrize("method", ["rodas5p", "kvaerno5"])
@pytest.mark.parametrize("simulated_solver", ["gmres", None])
def test_float32_runs_take_the_dense_lu_steps_in_the_simulator(method, simulated_solver):
    results = {}
    for backend, linear_solver in (("cuda", simulated_solver), ("cpu", "dense")):
        solver = batchode.Solver(brusselator(20), method=method, rtol=1e-5, atol=1e-5, precision="float32",
                                 backend=backend, linear_solver=linear_solver, save_time_series=False)
        results[backend] = solver.solve((0.0, 10.0), parameters={"B": [3.0]}, progress=False)
    simulated, dense = results["cuda"], results["cpu"]
    assert simulated.success.all(), simulated.status_names()
    steps = lambda result: result.n_accepted + result.n_rejected  # noqa: E731
    assert (steps(simulated) <= 1.5 * steps(dense)).all(), (steps(simulated), steps(dense))
    # Both are float32 runs of one method at rtol 1e-5: they agree to a few tolerances.
    np.testing.assert_allclose(simulated.y_final, dense.y_final, rtol=1e-4, atol=1e-4)
