"""Every Rosenbrock method: observed order on a non-autonomous problem (Robertson in test_stiff_robertson.py)."""

import numpy as np
import pytest

import batchode
from batchode import ODESystem
from batchode.algorithms import available_methods, get_tableau

ROSENBROCK_METHODS = available_methods("rosenbrock").names

# y' = -lambda (y - cos t) - sin t has the solution y = cos t + (y0 - 1) e^{-lambda t};
# with y0 = 1 it is cos t, and f depends on t, so the f_t terms are exercised.
FORCED = ODESystem.from_equations(["dy = -lam * (y - cos(t)) - sin(t)"], parameters={"lam": 5.0},
                                  initial_state={"y": 1.0})


def steps_for(order):
    """Step sizes keeping the float64 error well above round-off and in the asymptotic range."""
    return {2: [2e-2, 1e-2, 5e-3], 3: [4e-2, 2e-2, 1e-2], 4: [0.1, 0.05, 0.025]}.get(order, [0.2, 0.1, 0.05])


@pytest.mark.parametrize("method", ROSENBROCK_METHODS)
def test_observed_order_non_autonomous(method):
    order = get_tableau(method).order
    solver = batchode.Solver(FORCED, method=method, step_controller="fixed", dt=0.1, backend="cpu",
                             max_steps=10**6)
    steps, errors = steps_for(order), []
    for dt in steps:
        solver.update(dt=dt)
        result = solver.solve((0.0, 2.0))
        assert result.success.all()
        errors.append(abs(result.final_state[0, 0] - np.cos(2.0)))
    slope = np.diff(np.log(errors))[-1] / np.diff(np.log(steps))[-1]
    assert abs(slope - order) < 0.25, (method, errors)
