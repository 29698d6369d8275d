"""Van der Pol at mu = 1000 over two periods' worth of time, against scipy's Radau at rtol 1e-10."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

import batchode
from batchode.systems.examples import van_der_pol

MU = 1000.0
Y0 = np.array([[2.0, 0.0], [-1.5, 0.5]])


@pytest.fixture(scope="module")
def reference():
    def rhs(t, u):
        return [u[1], MU * (1 - u[0] ** 2) * u[1] - u[0]]

    def jacobian(t, u):
        return [[0.0, 1.0], [-2 * MU * u[0] * u[1] - 1, MU * (1 - u[0] ** 2)]]

    return np.array([scipy_solve_ivp(rhs, (0.0, 2 * MU), y0, method="Radau", rtol=1e-10, atol=1e-10,
                                     jac=jacobian).y[:, -1] for y0 in Y0])


# (method, largest step count, largest Newton iterations per step); measured
# at rtol = atol = 1e-8: radau_iia_5 2320-3510 steps with 1.4 iterations per
# step, rodas4 2480-3740 steps (no Newton iteration).
CASES = [("radau_iia_5", 4500, 2.0), ("rodas4", 4500, 0.0)]


@pytest.mark.parametrize("method, max_steps, max_iterations_per_step", CASES)
def test_van_der_pol_mu_1000_matches_scipy_radau(reference, method, max_steps, max_iterations_per_step):
    result = batchode.solve_ivp(van_der_pol(), (0.0, 2 * MU), y0=Y0, parameters={"mu": MU}, method=method,
                                rtol=1e-8, atol=1e-8, backend="cpu")
    assert result.success.all(), result.status_names()
    # x is O(1), v is O(1e-3) at the end: both within about 10 rtol of their scale
    # (measured: x 2.8e-9 / 2.2e-8, v 1.3e-11 / 2.3e-11 for radau_iia_5 / rodas4).
    np.testing.assert_allclose(result.final_state[:, 0], reference[:, 0], atol=2e-7)
    np.testing.assert_allclose(result.final_state[:, 1], reference[:, 1], atol=2e-10)
    steps = result.n_accepted + result.n_rejected
    assert steps.max() < max_steps
    assert (result.n_newton_iterations / steps).max() <= max_iterations_per_step
