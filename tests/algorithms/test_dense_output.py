"""Tests for the dense output (continuous extension) data of the explicit tableaus.

Pure NumPy and fractions: nothing here compiles a kernel.  The published
interpolants are checked three ways: against an independent expansion of
the form in which their source prints them, by the continuous order
conditions, and by the observed order of the interpolation error on a
problem with an exact solution.
"""

from fractions import Fraction

import attrs
import numpy as np
import pytest

from batchode.algorithms.tableaus import ALL_METHODS, ButcherTableau, get_tableau
from batchode.algorithms.tableaus.dense_output import DenseOutput
from batchode.algorithms.tableaus.order_conditions import ORDER_TOL, order_condition_residuals

WITH_DENSE_OUTPUT = ("bogacki-shampine-32", "dormand-prince-54", "tsit5")
with_dense_output = pytest.mark.parametrize(
    "tableau", [get_tableau(name) for name in WITH_DENSE_OUTPUT], ids=lambda t: t.name
)

# Fractions of the step at which the continuous order conditions are
# checked: spread over (0, 1), the ends excluded (at theta = 1 the weights
# are b, whose conditions test_tableaus checks).
THETAS = (0.1, 0.3, 0.5, 0.7, 0.9)

# A violated condition must exceed ORDER_TOL by this factor, so that
# "order p + 1 fails" is not a marginal call decided by rounding.
CLEAR_FAILURE = 1e3


def _poly_add(p, q):
    """Sum of two polynomials given as coefficient lists, lowest power first."""
    longer, shorter = (p, q) if len(p) >= len(q) else (q, p)
    return [x + (shorter[i] if i < len(shorter) else 0) for i, x in enumerate(longer)]


def _poly_mul(p, q):
    """Product of two polynomials given as coefficient lists, lowest power first."""
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, x in enumerate(p):
        for j, y in enumerate(q):
            out[i + j] += x * y
    return out


def _as_weight_rows(polynomials, degree):
    """DenseOutput coefficients (theta**1 first) of exact polynomials, each rounded once."""
    rows = []
    for p in polynomials:
        assert p[0] == 0, "a weight polynomial of a continuous extension has no constant term"
        assert len(p) <= degree + 1
        rows.append(tuple(float(x) for x in p[1:]) + (0.0,) * (degree + 1 - len(p)))
    return tuple(rows)


# --------------------------------------------------------------------------
# the registered interpolants
# --------------------------------------------------------------------------


def test_only_the_published_interpolants_are_attached():
    # Among the Runge-Kutta tableaus of every family (the Rosenbrock ones
    # have their own test).
    butcher = [t for t in ALL_METHODS if isinstance(t, ButcherTableau)]
    attached = {t.name for t in butcher if t.dense_output is not None}
    assert attached == set(WITH_DENSE_OUTPUT)


@pytest.mark.parametrize(("name", "order", "degree"),
                         [("bogacki-shampine-32", 3, 3), ("dormand-prince-54", 4, 4), ("tsit5", 4, 4)])
def test_orders_and_degrees(name, order, degree):
    dense = get_tableau(name).dense_output
    assert (dense.order, dense.degree, dense.stages) == (order, degree, get_tableau(name).stages)


@with_dense_output
def test_weights_start_at_zero_and_end_on_b(tableau):
    weights = tableau.dense_output.weights
    assert np.array_equal(weights(0.0), np.zeros(tableau.stages))
    np.testing.assert_allclose(weights(1.0), tableau.b, rtol=0, atol=1e-14)


def test_weights_of_an_array_of_thetas_are_one_row_each():
    dense = get_tableau("dopri5").dense_output
    thetas = np.array([0.25, 0.5, 0.75])
    rows = dense.weights(thetas)
    assert rows.shape == (3, 7)
    for theta, row in zip(thetas, rows):
        # Equal up to the summation order of the matrix product, whose
        # terms (up to ~10 in size) cancel to weights of ~0.1.
        np.testing.assert_allclose(row, dense.weights(theta), rtol=0, atol=1e-14)


def test_dopri5_weights_expand_hairers_contd5():
    # dopri5.f stores u(theta) = y + theta (dy + (1-theta) (e + theta (dy - h k7 - e
    # + (1-theta) h sum d_i k_i))) with dy = h sum b_i k_i and e = h k1 - dy.
    # Expanding the coefficient of h k_i exactly must give the stored rows.
    tableau = get_tableau("dopri5")
    b = [Fraction(x) for x in ("35/384", 0, "500/1113", "125/192", "-2187/6784", "11/84", 0)]
    d = [Fraction(x) for x in ("-12715105075/11282082432", 0, "87487479700/32700410799",
                               "-10690763975/1880347072", "701980252875/199316789632",
                               "-1453857185/822651844", "69997945/29380423")]
    theta, one_minus = [Fraction(0), Fraction(1)], [Fraction(1), Fraction(-1)]
    polynomials = []
    for i in range(7):
        dy, k1, k7 = b[i], Fraction(i == 0), Fraction(i == 6)
        e = k1 - dy
        inner = _poly_add([dy - k7 - e], _poly_mul(one_minus, [d[i]]))
        inner = _poly_add([e], _poly_mul(theta, inner))
        inner = _poly_add([dy], _poly_mul(one_minus, inner))
        polynomials.append(_poly_mul(theta, inner))
    assert tableau.dense_output.coefficients == _as_weight_rows(polynomials, 4)


def test_tsit5_weights_expand_the_papers_factored_polynomials():
    # Tsitouras prints b_i(theta) as products of linear and quadratic
    # factors; the stored coefficients are their expansions.
    def linear(root):
        return [-Fraction(root), Fraction(1)]

    def quadratic(p, q):  # theta**2 - p theta + q
        return [Fraction(q), -Fraction(p), Fraction(1)]

    def monomial(scale, power):
        return [Fraction(0)] * power + [Fraction(scale)]

    factors = [
        [monomial("-1.0530884977290216", 1), linear("1.3299890189751412"),
         quadratic("1.4364028541716351", "0.7139816917074209")],
        [monomial("0.1017", 2), quadratic("2.1966568338249754", "1.2949852507374631")],
        [monomial("2.490627285651252793", 2), quadratic("2.38535645472061657", "1.57803468208092486")],
        [monomial("-16.54810288924490272", 2), linear("1.21712927295533244"), linear("0.61620406037800089")],
        [monomial("47.37952196281928122", 2), linear("1.203071208372362603"), linear("0.658047292653547382")],
        [monomial("-34.87065786149660974", 2), linear("1.2"), linear("0.666666666666666667")],
        [monomial("2.5", 2), linear(1), linear("0.6")],
    ]
    polynomials = []
    for row in factors:
        product = [Fraction(1)]
        for factor in row:
            product = _poly_mul(product, factor)
        polynomials.append(product)
    # The stored values are the exact expansions cut to 25 digits, so they
    # may round to a float one unit in the last place away.
    np.testing.assert_allclose(get_tableau("tsit5").dense_output.coefficients, _as_weight_rows(polynomials, 4),
                               rtol=2.3e-16, atol=0)


def test_bogacki_shampine_weights_are_the_cubic_hermite_interpolant():
    # u(theta) = y + theta dy + theta (theta-1) ((1-2 theta) dy + (theta-1) h k1
    # + theta h k4), with dy = h sum b_i k_i, for arbitrary stage values.
    tableau = get_tableau("bs3")
    k = np.random.default_rng(5).standard_normal((4, 3))
    y, h = np.array([0.3, -1.0, 2.0]), 0.7
    dy = h * np.asarray(tableau.b) @ k
    for theta in THETAS:
        hermite = y + theta * dy + theta * (theta - 1) * ((1 - 2 * theta) * dy + (theta - 1) * h * k[0]
                                                          + theta * h * k[3])
        np.testing.assert_allclose(y + h * tableau.dense_output.weights(theta) @ k, hermite, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------
# continuous order conditions
# --------------------------------------------------------------------------


@with_dense_output
@pytest.mark.parametrize("theta", THETAS)
def test_continuous_order_conditions_hold_to_the_declared_order(tableau, theta):
    # sum_i b_i(theta) g_i(t) = theta**|t| / gamma(t) for every tree with
    # |t| <= order.  ORDER_TOL (1e-12) is the tolerance of the tableaus'
    # own conditions; the residuals found are at most ~4e-15 (Tsit5's
    # 17-digit data), those of the failing order at least ~4e-4.
    order = tableau.dense_output.order
    residuals = order_condition_residuals(tableau.a, tableau.dense_output.weights(theta), tableau.c,
                                          order + 1, theta=theta)
    assert residuals[:order].max() <= ORDER_TOL
    # ... and the order is exact: some condition of order + 1 fails.
    assert residuals[order] > CLEAR_FAILURE * ORDER_TOL


def test_theta_one_gives_the_methods_own_conditions():
    tableau = get_tableau("dopri5")
    np.testing.assert_array_equal(order_condition_residuals(tableau.a, tableau.b, tableau.c, 5, theta=1.0),
                                  order_condition_residuals(tableau.a, tableau.b, tableau.c, 5))


# --------------------------------------------------------------------------
# observed order of the interpolation error
# --------------------------------------------------------------------------


def _stage_derivatives(tableau, f, t, y, h):
    """The stage derivatives k_i of one explicit Runge-Kutta step from (t, y)."""
    a, c = np.asarray(tableau.a), np.asarray(tableau.c)
    k = np.zeros((tableau.stages, y.size))
    for i in range(tableau.stages):
        k[i] = f(t + c[i] * h, y + h * (a[i, :i] @ k[:i]))
    return k


# y' = y**2, y(0) = 1/2, exact solution 1/(2 - t): nonlinear, so every
# elementary differential is present and none vanishes.  Neither
# y' = y cos(t) nor a rotation would do: on the first the h**5 error term
# of Tsit5 and DOPRI5 almost cancels at theta = 0.7, and on a linear
# autonomous problem only the tall tree's condition enters, whose Tsit5
# residual vanishes near theta = 0.7, so the slope there reads ~6.
def _riccati(t, y):
    return y**2


def _riccati_exact(t):
    return np.array([1.0 / (2.0 - t)])


# Errors run from ~1e-5 (h = 0.2) down to ~1e-13 (h = 0.025), well above
# round-off.  The h**(p+2) term still bends the fitted slope upward by up
# to ~0.25 over that range (it shrinks towards 0 as h does), hence the
# +-0.3 tolerance; a missing order would shift it by a whole unit.
STEPS = 0.2 / 2.0 ** np.arange(4)
SLOPE_TOL = 0.3


@with_dense_output
@pytest.mark.parametrize("theta", (0.3, 0.7))
def test_interpolation_error_has_order_plus_one_slope(tableau, theta):
    y0 = _riccati_exact(0.0)
    errors = []
    for h in STEPS:
        k = _stage_derivatives(tableau, _riccati, 0.0, y0, h)
        u = y0 + h * tableau.dense_output.weights(theta) @ k
        errors.append(abs(u - _riccati_exact(theta * h))[0])
    slope = np.polyfit(np.log(STEPS), np.log(errors), 1)[0]
    assert abs(slope - (tableau.dense_output.order + 1)) < SLOPE_TOL


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def _bs3(**overrides):
    """Bogacki-Shampine with its dense output replaced by one built from ``overrides``."""
    fields = dict(coefficients=[[1, "-4/3", "5/9"], [0, 1, "-2/3"], [0, "4/3", "-8/9"], [0, -1, 1]],
                  order=3, citation="test")
    fields.update(overrides)
    return attrs.evolve(get_tableau("bs3"), name="test-bs3", dense_output=DenseOutput(**fields))


def test_the_valid_variant_builds_and_equals_the_registered_data():
    assert _bs3().dense_output == attrs.evolve(get_tableau("bs3").dense_output, citation="test")


@pytest.mark.parametrize(
    ("coefficients", "pattern"),
    [
        # b_2(1) and b_3(1) off by 0.1, every column sum intact
        ([[1, "-4/3", "5/9"], [0, 1, "-2/3"], [0, "4/3", "-71/90"], [0, -1, "0.9"]],
         r"dense output weight b_2\(1\) = 0\.5444.* but b\[2\] = 0\.4444"),
        # rows still end on b, but theta**1 and theta**2 do not sum to 1 and 0
        ([["1.1", "-43/30", "5/9"], [0, 1, "-2/3"], [0, "4/3", "-8/9"], [0, -1, 1]],
         r"coefficients of theta\*\*1 sum to 1\.1.*, not 1, so sum_i b_i\(theta\) != theta"),
        ([[1, "-4/3", "5/9"], [0, 1, "-2/3"], [0, "4/3", "-8/9"]],
         r"dense output has 3 rows of coefficients but the tableau has 4 stages"),
    ],
)
def test_dense_output_that_does_not_fit_the_tableau_is_rejected(coefficients, pattern):
    with pytest.raises(ValueError, match=pattern) as excinfo:
        _bs3(coefficients=coefficients)
    assert "'test-bs3'" in str(excinfo.value)


def test_dense_output_above_the_methods_order_is_rejected():
    with pytest.raises(ValueError, match="dense output of order 4 exceeds the method's order 3"):
        _bs3(coefficients=[[1, "-4/3", "5/9", 0], [0, 1, "-2/3", 0], [0, "4/3", "-8/9", 0], [0, -1, 1, 0]],
             order=4)


@pytest.mark.parametrize(
    ("fields", "pattern"),
    [
        (dict(coefficients=[[1, float("nan")], [0, 1]]), r"coefficient of theta\*\*2 in b_0\(theta\) is nan"),
        (dict(coefficients=[[1, float("inf")], [0, 1]]), r"coefficient of theta\*\*2 in b_0\(theta\) is inf"),
        (dict(coefficients=[[1, "-1/2"], [0]]), r"row 1 of coefficients has 1 entries but row 0 has 2"),
        (dict(coefficients=[]), r"coefficients is empty"),
        (dict(coefficients=[[]]), r"coefficients is empty"),
        (dict(order=3), r"order must be an int from 1 to the degree 2, got 3"),
        (dict(order=0), r"order must be an int from 1 to the degree 2, got 0"),
        (dict(order=2.0), r"order must be an int from 1 to the degree 2, got 2\.0"),
    ],
)
def test_invalid_dense_output_is_rejected(fields, pattern):
    valid = dict(coefficients=[[1, "-1/2"], [0, "1/2"]], order=2, citation="test")
    with pytest.raises(ValueError, match=pattern):
        DenseOutput(**{**valid, **fields})


def test_unreadable_coefficient_is_rejected():
    with pytest.raises(ValueError, match="cannot read 'half'"):
        DenseOutput(coefficients=[[1, "half"]], order=1, citation="test")


def test_dense_output_must_be_a_dense_output():
    with pytest.raises(TypeError, match="dense_output"):
        attrs.evolve(get_tableau("bs3"), dense_output=((1, 0, 0),))


def test_coefficients_are_read_exactly():
    dense = DenseOutput(coefficients=[["1/3", Fraction(2, 3), 1]], order=1, citation="test")
    assert dense.coefficients == ((1 / 3, 2 / 3, 1.0),)
    assert all(type(x) is float for x in dense.coefficients[0])


# --------------------------------------------------------------------------
# equality and hashing (a tableau is part of a compiled configuration)
# --------------------------------------------------------------------------


@with_dense_output
def test_dense_output_takes_part_in_equality_hash_and_repr(tableau):
    without = attrs.evolve(tableau, dense_output=None)
    assert without != tableau
    assert "dense_output=DenseOutput(" in repr(tableau)
    rebuilt = ButcherTableau(**attrs.asdict(tableau, recurse=False))
    assert rebuilt == tableau and hash(rebuilt) == hash(tableau) and repr(rebuilt) == repr(tableau)
