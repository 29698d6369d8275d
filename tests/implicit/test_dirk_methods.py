"""Every named DIRK method: observed order, and stiff problems against scipy's Radau."""

import numpy as np
import pytest

import batchode
from batchode.algorithms import available_methods, get_tableau
from batchode.systems.examples import harmonic_oscillator, robertson

DIRK_METHODS = available_methods("dirk")
EXACT = np.array([np.cos(4.0), -np.sin(4.0)])


def steps_for(order):
    """Step sizes keeping the float64 error well above round-off (1e-13) and in the asymptotic range."""
    return {1: [2e-3, 1e-3, 5e-4], 2: [2e-2, 1e-2, 5e-3], 3: [4e-2, 2e-2, 1e-2],
            4: [0.1, 0.05, 0.025]}.get(order, [0.1, 0.05, 0.025])


# Every method with the default dense solver; the Krylov solvers on the
# method with the most implicit stages (each solver is also checked on a
# two-stage SDIRK in test_dirk_composition.py). Compiles dominate the time.
CASES = [(m, "dense") for m in DIRK_METHODS] + [("kvaerno5", "gmres"), ("kvaerno5", "minres")]


@pytest.mark.parametrize("method, linear_solver", CASES)
def test_observed_order(method, linear_solver):
    order = get_tableau(method).order
    solver = batchode.Solver(harmonic_oscillator(), method=method, step_controller="fixed", dt=0.1,
                             max_steps=10**6, backend="cpu", linear_solver=linear_solver,
                             newton_tolerance=1e-10, rtol=1e-12, atol=1e-12)
    steps, errors = steps_for(order), []
    for dt in steps:
        solver.update(dt=dt)
        result = solver.solve((0.0, 4.0))
        assert result.success.all()
        errors.append(np.abs(result.final_state[0] - EXACT).max())
    slope = np.diff(np.log(errors))[-1] / np.diff(np.log(steps))[-1]
    assert abs(slope - order) < 0.2, (method, linear_solver, errors)


# L-stable methods with an embedded estimate (the trapezoidal rule is only
# A-stable). kvaerno5 and sdirk_2_2 also pass (checked by hand: y1 within
# 1e-6 of Radau) but take 1-2 minutes each to compile and run here.
STIFF_METHODS = ["kvaerno3", "l_stable_sdirk_4"]


@pytest.mark.parametrize("method", STIFF_METHODS)
def test_robertson_matches_scipy_radau(robertson_reference, method):
    k1, reference = robertson_reference
    system = robertson()
    result = batchode.solve_ivp(system, (0.0, 1e5), parameters={"k1": k1}, method=method, rtol=1e-6,
                                atol=1e-10, backend="cpu", max_steps=200_000)
    assert result.success.all(), result.status_names()
    # y1 and y3 are O(1e-2..1): rtol-level agreement; y2 is O(1e-10) at t = 1e5
    # and controlled by atol, so it is compared in absolute terms.
    np.testing.assert_allclose(result.final_state[:, [0, 2]], reference[:, [0, 2]], rtol=1e-4)
    np.testing.assert_allclose(result.final_state[:, 1], reference[:, 1], atol=1e-9)
    # Work stays bounded: an L-stable method needs hundreds to a few
    # thousand steps over 1e5 time units, not the millions an explicit
    # method would, and Newton converges in a few iterations per stage.
    steps = result.n_accepted + result.n_rejected
    assert steps.max() < 20_000
    stages = get_tableau(method).stages
    assert (result.n_newton_iterations / (steps * stages)).max() < 6
