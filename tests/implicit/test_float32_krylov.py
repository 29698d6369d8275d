"""Implicit methods in float32 on a 40-state stiff system: the Krylov tolerance follows the precision.

The 1-D Brusselator with 20 cells (Hairer & Wanner II, IV.1) used to get
GMRES by default on the CPU (above 32 states), with a fixed residual
tolerance of 1e-8, below what float32 can resolve: every solve ran to its
cap and failed, and runs took 16,000-17,000 steps instead of 65-73
(rodas5p, rtol 1e-5). The tolerance is now derived from rtol and the
precision (:func:`batchode.solvers.linear.krylov.default_tolerance`), so
GMRES takes the steps of the dense LU; and the default for an equation
system like this one is now the sparse LU, which does too.
"""

import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

import batchode
from batchode.solvers.linear import GMRES, SparseLU, krylov
from batchode.systems.examples import brusselator
from batchode.tree import owner

CELLS = 20
TOLERANCE = 1e-5
B_VALUES = np.array([2.8, 3.0, 3.2, 3.4])


def brusselator_rhs(t, y, b):
    """The right-hand side of :func:`brusselator` (A = 1, alpha = 1/50) in numpy, for scipy's reference."""
    u, v = y[:CELLS], y[CELLS:]
    diffusion = 0.02 * (CELLS + 1) ** 2
    u_padded, v_padded = np.concatenate(([1.0], u, [1.0])), np.concatenate(([3.0], v, [3.0]))
    du = 1.0 + u**2 * v - (b + 1.0) * u + diffusion * (u_padded[:-2] - 2.0 * u + u_padded[2:])
    dv = b * u - u**2 * v + diffusion * (v_padded[:-2] - 2.0 * v + v_padded[2:])
    return np.concatenate((du, dv))


@pytest.fixture(scope="module")
def reference():
    y0 = np.asarray(brusselator(CELLS).default_initial_state, dtype=float)
    return np.array([scipy_solve_ivp(brusselator_rhs, (0.0, 10.0), y0, method="Radau", rtol=1e-11, atol=1e-11,
                                     args=(b,)).y[:, -1] for b in B_VALUES])


def linear_solver_of(solver):
    family = solver.loop.child("algorithm").tableau.family
    return owner(solver.loop, "linear", family)[0]


def solve(method, **settings):
    solver = batchode.Solver(brusselator(CELLS), method=method, rtol=TOLERANCE, atol=TOLERANCE, precision="float32",
                             backend="cpu", save_time_series=False, **settings)
    return solver, solver.solve((0.0, 10.0), parameters={"B": B_VALUES}, progress=False)


@pytest.mark.parametrize("method", ["rodas5p", "kvaerno5"])
@pytest.mark.parametrize("linear_solver", ["gmres", None])
def test_float32_default_settings_take_the_steps_of_the_dense_lu(reference, method, linear_solver):
    solver, tested = solve(method, linear_solver=linear_solver)
    expected = GMRES if linear_solver == "gmres" else SparseLU  # the default for an equation system
    assert isinstance(linear_solver_of(solver), expected)
    _, dense_result = solve(method, linear_solver="dense")
    for result in (tested, dense_result):
        assert result.success.all(), result.status_names()
        # Measured: 1.6 (rodas5p) and 2.5 (kvaerno5) tolerances, with GMRES and the dense LU alike.
        error = np.abs(result.y_final - reference) / (TOLERANCE + TOLERANCE * np.abs(reference))
        assert error.max() < 10.0
    tested_steps = tested.n_accepted + tested.n_rejected
    dense_steps = dense_result.n_accepted + dense_result.n_rejected
    # Measured equal run by run (59-82 steps for rodas5p, 38-54 for kvaerno5);
    # with the old 1e-8 rodas5p took 16,000 and more.
    assert (tested_steps <= 1.5 * dense_steps).all(), (tested_steps, dense_steps)


@pytest.mark.parametrize("rtol, precision, expected", [
    (1e-6, "float64", 1e-8),
    (1e-5, "float32", 10 * float(np.finfo(np.float32).eps)),  # the floor: 1e-7 would be below it
    ((1e-3, 1e-9), "float64", 1e-11),  # the smallest rtol sets it
    (1e-15, "float64", 10 * float(np.finfo(np.float64).eps)),
])
def test_the_default_krylov_tolerance_scales_with_rtol_and_stops_at_the_precision(rtol, precision, expected):
    assert krylov.default_tolerance(np.atleast_1d(rtol), precision) == pytest.approx(expected, rel=1e-12)


def test_solver_settings_carry_the_derived_krylov_tolerance_and_follow_rtol():
    system = brusselator(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults never warn, in either precision
        solver = batchode.Solver(system, method="kvaerno3", linear_solver="gmres", precision="float32",
                                 rtol=1e-6, atol=1e-6, backend="cpu")
        assert solver.settings["krylov_tolerance"] == krylov.tolerance_floor(np.float32)
        solver.update(precision="float64", rtol=1e-4)
        assert solver.settings["krylov_tolerance"] == pytest.approx(1e-6, rel=1e-12)
        assert linear_solver_of(solver).settings.tolerance == solver.settings["krylov_tolerance"]


def test_a_krylov_tolerance_below_the_precision_warns_and_is_raised():
    with pytest.warns(UserWarning, match=r"krylov_tolerance=1e-08 is below 10 machine epsilons of float32"):
        solver = batchode.Solver(brusselator(2), method="rodas5p", linear_solver="gmres", precision="float32",
                                 krylov_tolerance=1e-8, backend="cpu")
    assert solver.settings["krylov_tolerance"] == krylov.tolerance_floor(np.float32)


def test_a_newton_tolerance_below_what_the_precision_resolves_warns():
    # 10 eps / rtol = 1.2 in float32 at rtol 1e-6: an update cannot be resolved more finely.
    with pytest.warns(UserWarning, match=r"newton_tolerance=0.001 is below .* float32 .* using 1.2e\+00"):
        batchode.Solver(brusselator(2), method="kvaerno3", precision="float32", rtol=1e-6, newton_tolerance=1e-3,
                        backend="cpu")
