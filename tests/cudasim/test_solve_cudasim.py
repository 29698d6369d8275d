"""The full solve path in the CUDA simulator agrees with the CPU backend."""

import numpy as np
import pytest

import batchode
from batchode.systems.examples import lorenz

pytestmark = pytest.mark.cudasim


# classical-rk4 adapts with a residual estimate: an extra LOCAL buffer and
# the end-point derivative kept in persistent memory between steps.
@pytest.mark.parametrize("method", ["tsit5", "classical-rk4"])
def test_simulator_matches_cpu_on_a_small_batch(method):
    options = dict(parameters={"rho": [5.0, 15.0, 28.0]}, save_every=0.1, rtol=1e-8, atol=1e-8, method=method)
    cpu = batchode.solve_ivp(lorenz(), (0.0, 0.2), backend="cpu", **options)
    sim = batchode.solve_ivp(lorenz(), (0.0, 0.2), backend="cuda", **options)
    np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.n_accepted, cpu.n_accepted)
    np.testing.assert_array_equal(sim.status, cpu.status)
