"""Every named DIRK method: observed order (Robertson in test_stiff_robertson.py)."""

import numpy as np
import pytest

import batchode
from batchode.algorithms import available_methods, get_tableau
from batchode.systems.examples import harmonic_oscillator

DIRK_METHODS = available_methods("dirk").names
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
    # Newton at its floor 10 eps / rtol, the tightest it can resolve: its
    # error stays far below the finest truncation error.
    floor = 10 * np.finfo(np.float64).eps / 1e-12
    solver = batchode.Solver(harmonic_oscillator(), method=method, step_controller="fixed", dt=0.1,
                             max_steps=10**6, backend="cpu", linear_solver=linear_solver,
                             newton_tolerance=floor, rtol=1e-12, atol=1e-12)
    steps, errors = steps_for(order), []
    for dt in steps:
        solver.update(dt=dt)
        result = solver.solve((0.0, 4.0))
        assert result.success.all()
        errors.append(np.abs(result.final_state[0] - EXACT).max())
    slope = np.diff(np.log(errors))[-1] / np.diff(np.log(steps))[-1]
    assert abs(slope - order) < 0.2, (method, linear_solver, errors)
