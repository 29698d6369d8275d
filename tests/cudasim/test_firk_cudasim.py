"""Radau IIA 5 (transformed Newton iteration: a real and a complex block LU, filtered error estimate) in the CUDA simulator."""

import numpy as np
import pytest

import batchode
from batchode.systems.examples import harmonic_oscillator

pytestmark = pytest.mark.cudasim

# The LU of the complex block in shared memory (the real block's, which
# also filters the error estimate, stays persistent) and the transformed
# increments in the persistent pool: same results, other memory.
MOVES = [{}, {"loop_algorithm_complex_lu_0_factors_location": "shared",
              "loop_algorithm_transformed_increments_location": "local_persistent"}]


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
