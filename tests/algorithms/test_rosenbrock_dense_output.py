"""Tests for the dense output data of the RODAS-type Rosenbrock tableaus.

Pure NumPy: nothing here compiles a kernel.  The interpolants of rodas4
and rodas5p are checked by the continuous Rosenbrock order conditions
and by the observed order of the interpolation error of a plain NumPy
Rosenbrock step (transformed form, exact Jacobian).
"""

import attrs
import numpy as np
import pytest

from batchode.algorithms.tableaus import ROSENBROCK_TABLEAUS, RosenbrockTableau, get_tableau
from batchode.algorithms.tableaus.order_conditions import ORDER_TOL, rosenbrock_order_condition_residuals
from batchode.algorithms.tableaus.rosenbrock_dense_output import RosenbrockDenseOutput

WITH_DENSE_OUTPUT = ("rodas4", "rodas5p")
with_dense_output = pytest.mark.parametrize(
    "tableau", [get_tableau(name) for name in WITH_DENSE_OUTPUT], ids=lambda t: t.name
)

# A violated condition must exceed ORDER_TOL by this factor.
CLEAR_FAILURE = 1e3


def _standard_weights(tableau, theta):
    """``b(theta)`` of the interpolant in the standard-form stages ``k = Gamma^-1 u``."""
    dense = tableau.dense_output
    in_increments = theta * np.asarray(tableau.m) + theta * (1 - theta) * dense.weights(theta)
    return in_increments @ np.asarray(tableau.gamma)


def test_only_rodas4_and_rodas5p_carry_a_dense_output():
    assert {t.name for t in ROSENBROCK_TABLEAUS if t.dense_output is not None} == set(WITH_DENSE_OUTPUT)


@pytest.mark.parametrize(("name", "order", "terms"), [("rodas4", 3, 2), ("rodas5p", 4, 3)])
def test_orders_and_terms(name, order, terms):
    dense = get_tableau(name).dense_output
    assert (dense.order, dense.terms, dense.stages) == (order, terms, get_tableau(name).stages)


def test_weights_are_the_theta_polynomial_of_the_rows():
    dense = get_tableau("rodas5p").dense_output
    h = np.asarray(dense.coefficients)
    np.testing.assert_allclose(dense.weights(0.4), h[0] + 0.4 * h[1] + 0.16 * h[2], rtol=1e-14, atol=1e-14)
    assert dense.weights([0.2, 0.4]).shape == (2, 8)


# --------------------------------------------------------------------------
# continuous order conditions
# --------------------------------------------------------------------------


@with_dense_output
@pytest.mark.parametrize("theta", (0.1, 0.3, 0.5, 0.7, 0.9))
def test_continuous_order_conditions_hold_to_the_declared_order(tableau, theta):
    # The Rosenbrock conditions (exact Jacobian) with theta**|t| / gamma(t):
    # residuals of those that hold are at most ~2e-14 (Rodas5P's 17-digit
    # H, entries up to ~80), those of order + 1 at least ~1e-3.
    order = tableau.dense_output.order
    residuals = rosenbrock_order_condition_residuals(tableau.alpha, tableau.gamma,
                                                     _standard_weights(tableau, theta), order + 1, theta=theta)
    assert residuals[:order].max() <= ORDER_TOL
    assert residuals[order] > CLEAR_FAILURE * ORDER_TOL


@with_dense_output
def test_interpolant_ends_on_the_step(tableau):
    np.testing.assert_allclose(_standard_weights(tableau, 1.0), tableau.b, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(_standard_weights(tableau, 0.0), np.zeros(tableau.stages))


# --------------------------------------------------------------------------
# observed order of the interpolation error
# --------------------------------------------------------------------------


def _increments(tableau, f, jac, f_t, t, y, h):
    """``(y1, u)``: one step of the transformed form (HW II (7.25)) and its increments."""
    a, c_mat, c, d = (np.asarray(x) for x in (tableau.A, tableau.C, tableau.c, tableau.d))
    matrix = np.eye(y.size) / (h * tableau.gamma_diag) - jac(t, y)
    u = np.zeros((tableau.stages, y.size))
    for i in range(tableau.stages):
        rhs = f(t + c[i] * h, y + a[i, :i] @ u[:i]) + c_mat[i, :i] @ u[:i] / h + d[i] * h * f_t(t, y)
        u[i] = np.linalg.solve(matrix, rhs)
    return y + np.asarray(tableau.m) @ u, u


# y' = -2 (y - sin t) + cos t, y(0) = 1: linear and non-autonomous (the
# f_t terms take part), exact solution sin t + exp(-2 t).
LINEAR = (
    lambda t, y: -2.0 * (y - np.sin(t)) + np.cos(t),
    lambda t, y: np.array([[-2.0]]),
    lambda t, y: 2.0 * np.cos(t) - np.sin(t) + 0.0 * y,
    lambda t: np.array([np.sin(t) + np.exp(-2.0 * t)]),
)
# y' = y**2, y(0) = 1/2: nonlinear, exact solution 1/(2 - t).
RICCATI = (
    lambda t, y: y**2,
    lambda t, y: np.diag(2.0 * y),
    lambda t, y: 0.0 * y,
    lambda t: np.array([1.0 / (2.0 - t)]),
)

# Step sizes per interpolant order: the errors then run from ~1e-7 down to
# ~1e-14, above round-off, and the fitted slopes lie within ~0.2 of
# order + 1 (the h**(order+2) term bends them by that much at the larger
# steps), hence the +-0.3 tolerance; a missing order would shift the slope
# by a whole unit.  The scalar y' = cos(t) (1 + y**2) is not used: RODAS4's
# h**4 interpolation error vanishes on it, so its slope reads 5.
STEPS = {3: 0.025 / 2.0 ** np.arange(4), 4: 0.1 / 2.0 ** np.arange(4)}
SLOPE_TOL = 0.3


@with_dense_output
@pytest.mark.parametrize("problem", [LINEAR, RICCATI], ids=["linear", "riccati"])
@pytest.mark.parametrize("theta", (0.3, 0.7))
def test_interpolation_error_has_order_plus_one_slope(tableau, problem, theta):
    f, jac, f_t, exact = problem
    dense = tableau.dense_output
    steps = STEPS[dense.order]
    errors = []
    for h in steps:
        y0 = exact(0.0)
        y1, u = _increments(tableau, f, jac, f_t, 0.0, y0, h)
        value = (1 - theta) * y0 + theta * (y1 + (1 - theta) * dense.weights(theta) @ u)
        errors.append(abs(value - exact(theta * h))[0])
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - (dense.order + 1)) < SLOPE_TOL, (errors, slope)


# --------------------------------------------------------------------------
# validation, equality
# --------------------------------------------------------------------------


def _rodas4(**overrides):
    """rodas4 with its dense output replaced by one built from ``overrides``."""
    fields = dict(coefficients=get_tableau("rodas4").dense_output.coefficients, order=3, citation="test")
    fields.update(overrides)
    return attrs.evolve(get_tableau("rodas4"), name="test-rodas4", dense_output=RosenbrockDenseOutput(**fields))


def test_the_valid_variant_builds():
    assert _rodas4().dense_output.coefficients == get_tableau("rodas4").dense_output.coefficients


def test_dense_output_that_does_not_fit_the_tableau_is_rejected():
    rows = get_tableau("rodas4").dense_output.coefficients
    with pytest.raises(ValueError, match=r"'test-rodas4': dense output has 5 stage weights per row but the "
                                         r"tableau has 6 stages"):
        _rodas4(coefficients=[row[:5] for row in rows])
    with pytest.raises(ValueError, match=r"'test-rodas4': dense output of order 5 exceeds the method's order 4"):
        _rodas4(coefficients=rows + rows + rows, order=5)
    with pytest.raises(ValueError, match=r"'test-rodas4': dense output row 1 gives H\[1\] \. d = .*, not 0, "
                                         r"so the interpolant of y' = const is not exact"):
        _rodas4(coefficients=[rows[0], (rows[1][0] + 0.1,) + rows[1][1:]])


@pytest.mark.parametrize(
    ("fields", "pattern"),
    [
        (dict(coefficients=[[1, float("nan")]]), r"weight of u_1 in the theta\*\*0 term is nan"),
        (dict(coefficients=[[1, 2], [3]]), r"row 1 of coefficients has 1 entries but row 0 has 2"),
        (dict(coefficients=[]), r"coefficients is empty"),
        (dict(order=3), r"order must be an int from 1 to terms \+ 1 = 2, got 3"),
        (dict(order=0), r"order must be an int from 1 to terms \+ 1 = 2, got 0"),
    ],
)
def test_invalid_dense_output_is_rejected(fields, pattern):
    valid = dict(coefficients=[[1, -1]], order=2, citation="test")
    with pytest.raises(ValueError, match=pattern):
        RosenbrockDenseOutput(**{**valid, **fields})


@with_dense_output
def test_dense_output_takes_part_in_equality_and_reconstruction(tableau):
    assert attrs.evolve(tableau, dense_output=None) != tableau
    rebuilt = RosenbrockTableau(**attrs.asdict(tableau, recurse=False))
    assert rebuilt == tableau and hash(rebuilt) == hash(tableau) and repr(rebuilt) == repr(tableau)
