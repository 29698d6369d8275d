"""Radau IIA 5 in the CUDA simulator.

The transformed Newton iteration (a real and a complex block LU, sparse or
dense) and the filtered error estimate.
"""

import numpy as np
import pytest

import batchode
from batchode.systems.examples import harmonic_oscillator

pytestmark = pytest.mark.cudasim

# The default sparse block LUs; the complex block's factors in shared
# memory (the real block's, which also filters the error estimate, stay
# persistent) and the transformed increments in the persistent pool: same
# results, other memory; and the dense block LUs.
MOVES = [{}, {"loop_algorithm_complex_lu_0_factors_location": "shared",
              "loop_algorithm_transformed_increments_location": "local_persistent"}, {"linear_solver": "dense"}]


@pytest.mark.parametrize("moves", MOVES)
def test_simulator_matches_cpu(moves):
    # Two runs, a handful of adaptive steps: the simulator runs Python per thread.
    results = []
    for backend in ("cpu", "cuda"):
        results.append(batchode.solve_ivp(harmonic_oscillator(), (0.0, 0.5), parameters={"omega": [1.0, 3.0]},
                                          method="radau-iia-5", dt=0.1, rtol=1e-5, atol=1e-5, backend=backend,
                                          **moves))
    cpu, sim = results
    assert cpu.success.all() and sim.success.all()
    np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.n_accepted, cpu.n_accepted)
    np.testing.assert_array_equal(sim.n_newton_iterations, cpu.n_newton_iterations)
