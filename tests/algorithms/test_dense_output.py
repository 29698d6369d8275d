"""Tests for the dense output (continuous extension) data of the explicit tableaus.

Pure NumPy and fractions: nothing here compiles a kernel.  The published
interpolants are checked three ways: against an independent expansion of
the form in which their source prints them, by the continuous order
conditions (of the method and the interpolant's extra stages together),
and by the observed order of the interpolation error on a problem with an
exact solution.
"""

from fractions import Fraction

import attrs
import numpy as np
import pytest

from batchode.algorithms.tableaus import ALL_METHODS, ButcherTableau, get_tableau
from batchode.algorithms.tableaus.dense_output import DenseOutput
from batchode.algorithms.tableaus.order_conditions import (
    ORDER_TOL,
    continuous_order_condition_residuals,
    extended_tableau,
    order_condition_residuals,
)

WITH_DENSE_OUTPUT = ("bogacki-shampine-32", "dormand-prince-54", "tsit5", "dormand-prince-853", "vern7")
WITH_EXTRA_STAGES = ("dormand-prince-853", "vern7")
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


@pytest.mark.parametrize(("name", "order", "degree", "extra"),
                         [("bogacki-shampine-32", 3, 3, 0), ("dormand-prince-54", 4, 4, 0), ("tsit5", 4, 4, 0),
                          ("dormand-prince-853", 7, 7, 4), ("vern7", 7, 7, 6)])
def test_orders_degrees_and_extra_stages(name, order, degree, extra):
    dense = get_tableau(name).dense_output
    assert (dense.order, dense.degree, dense.method_stages, dense.extra_stages) == (
        order, degree, get_tableau(name).stages, extra)
    assert dense.stages == dense.method_stages + extra


@with_dense_output
def test_weights_start_at_zero_and_end_on_b(tableau):
    # Extra stages end with weight 0.  The weights are sums of terms up to
    # the size of a row's coefficients (~2e3 for DOP853 and Vern7), so
    # their rounding scales with it.
    dense = tableau.dense_output
    assert np.array_equal(dense.weights(0.0), np.zeros(dense.stages))
    scale = max(1.0, np.abs(dense.coefficients).sum(axis=1).max())
    np.testing.assert_allclose(dense.weights(1.0), tableau.b + (0.0,) * dense.extra_stages,
                               rtol=0, atol=1e-16 * scale)


@pytest.mark.parametrize("name", WITH_EXTRA_STAGES)
def test_first_extra_stage_is_the_derivative_at_the_steps_end(name):
    # Both codes evaluate f(t + h, y_new) first (the next step's first
    # stage); the explicit engine reads y_new for it.
    tableau = get_tableau(name)
    assert tableau.dense_output.extra_a[0] == tableau.b and tableau.dense_output.extra_c[0] == 1.0


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


# The order-5/7 coefficients d41 .. d716 of dop853.f (CONTD8), by stage
# 1..16 (the code's stages 2-5 have none): r_m = h sum_i d_mi k_i.
DOP853_D = {
    4: {1: "-0.84289382761090128651353491142e+01", 6: "0.56671495351937776962531783590",
        7: "-0.30689499459498916912797304727e+01", 8: "0.23846676565120698287728149680e+01",
        9: "0.21170345824450282767155149946e+01", 10: "-0.87139158377797299206789907490",
        11: "0.22404374302607882758541771650e+01", 12: "0.63157877876946881815570249290",
        13: "-0.88990336451333310820698117400e-01", 14: "0.18148505520854727256656404962e+02",
        15: "-0.91946323924783554000451984436e+01", 16: "-0.44360363875948939664310572000e+01"},
    5: {1: "0.10427508642579134603413151009e+02", 6: "0.24228349177525818288430175319e+03",
        7: "0.16520045171727028198505394887e+03", 8: "-0.37454675472269020279518312152e+03",
        9: "-0.22113666853125306036270938578e+02", 10: "0.77334326684722638389603898808e+01",
        11: "-0.30674084731089398182061213626e+02", 12: "-0.93321305264302278729567221706e+01",
        13: "0.15697238121770843886131091075e+02", 14: "-0.31139403219565177677282850411e+02",
        15: "-0.93529243588444783865713862664e+01", 16: "0.35816841486394083752465898540e+02"},
    6: {1: "0.19985053242002433820987653617e+02", 6: "-0.38703730874935176555105901742e+03",
        7: "-0.18917813819516756882830838328e+03", 8: "0.52780815920542364900561016686e+03",
        9: "-0.11573902539959630126141871134e+02", 10: "0.68812326946963000169666922661e+01",
        11: "-0.10006050966910838403183860980e+01", 12: "0.77771377980534432092869265740",
        13: "-0.27782057523535084065932004339e+01", 14: "-0.60196695231264120758267380846e+02",
        15: "0.84320405506677161018159903784e+02", 16: "0.11992291136182789328035130030e+02"},
    7: {1: "-0.25693933462703749003312586129e+02", 6: "-0.15418974869023643374053993627e+03",
        7: "-0.23152937917604549567536039109e+03", 8: "0.35763911791061412378285349910e+03",
        9: "0.93405324183624310003907691704e+02", 10: "-0.37458323136451633156875139351e+02",
        11: "0.10409964950896230045147246184e+03", 12: "0.29840293426660503123344363579e+02",
        13: "-0.43533456590011143754432175058e+02", 14: "0.96324553959188282948394950600e+02",
        15: "-0.39177261675615439165231486172e+02", 16: "-0.14972683625798562581422125276e+03"},
}
DOP853_B = ("5.42937341165687622380535766363e-2", 0, 0, 0, 0, "4.45031289275240888144113950566",
            "1.89151789931450038304281599044", "-5.8012039600105847814672114227",
            "3.1116436695781989440891606237e-1", "-1.52160949662516078556178806805e-1",
            "2.01365400804030348374776537501e-1", "4.47106157277725905176885569043e-2")


def test_dop853_weights_expand_hairers_contd8():
    # dop853.f stores u(theta) = y + theta (dy + (1-theta) (e + theta (dy - h k13 - e
    # + (1-theta) (r4 + theta (r5 + (1-theta) (r6 + theta r7)))))) with dy = h sum b_i k_i,
    # e = h k1 - dy and r_m = h sum d_mi k_i.  Every multiplier has integer
    # coefficients, so the expansion of the code's decimals is exact, and the
    # stored floats are those decimals rounded once.
    b = [Fraction(x) for x in DOP853_B] + [Fraction(0)] * 4
    theta, one_minus = [Fraction(0), Fraction(1)], [Fraction(1), Fraction(-1)]
    polynomials = []
    for i in range(16):
        d = {m: Fraction(DOP853_D[m].get(i + 1, 0)) for m in DOP853_D}
        e = Fraction(i == 0) - b[i]
        inner = _poly_add([d[6]], _poly_mul(theta, [d[7]]))
        inner = _poly_add([d[5]], _poly_mul(one_minus, inner))
        inner = _poly_add([d[4]], _poly_mul(theta, inner))
        inner = _poly_add([b[i] - Fraction(i == 12) - e], _poly_mul(one_minus, inner))
        inner = _poly_add([e], _poly_mul(theta, inner))
        inner = _poly_add([b[i]], _poly_mul(one_minus, inner))
        polynomials.append(_poly_mul(theta, inner))
    assert get_tableau("dop853").dense_output.coefficients == _as_weight_rows(polynomials, 7)


def test_dop853_power_form_matches_the_nested_form_numerically():
    # The nested form evaluated in float64, as dop853.f does, for random
    # stages; the differences are rounding in terms of size ~1e3.
    tableau = get_tableau("dop853")
    k = np.random.default_rng(8).standard_normal((16, 3))
    y, h = np.array([0.3, -1.0, 2.0]), 0.7
    d = np.array([[float(Fraction(DOP853_D[m].get(i, 0))) for i in range(1, 17)] for m in (4, 5, 6, 7)])
    dy = h * np.asarray(tableau.b) @ k[:12]
    e = h * k[0] - dy
    r4, r5, r6, r7 = h * d @ k
    for theta in THETAS:
        s1 = 1.0 - theta
        nested = y + theta * (dy + s1 * (e + theta * (dy - h * k[12] - e
                                                        + s1 * (r4 + theta * (r5 + s1 * (r6 + theta * r7))))))
        power = y + h * tableau.dense_output.weights(theta) @ k
        np.testing.assert_allclose(power, nested, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------
# continuous order conditions
# --------------------------------------------------------------------------


# Verner's published 40-digit interpolant meets twelve of the 48 order-7
# conditions only to ~2.7e-7 (each residual a multiple of the weight of
# the extra stage at node 29/100; every other condition of order <= 7
# holds to ~1e-13): strictly an order-6 interpolant whose h**7 term is some
# 50 times smaller than its h**8 term (order-8 residuals >= 1.5e-5), so it
# is declared order 7 as published (see the notes of its module).  Its
# order-7 conditions are held to this bound instead of ORDER_TOL.
PUBLISHED_DEFECT = {"vern7": 5e-7}


@with_dense_output
@pytest.mark.parametrize("theta", THETAS)
def test_continuous_order_conditions_hold_to_the_declared_order(tableau, theta):
    # sum_i b_i(theta) g_i(t) = theta**|t| / gamma(t) for every tree with
    # |t| <= order, on the method and the interpolant's extra stages
    # together.  ORDER_TOL (1e-12) is the tolerance of the tableaus' own
    # conditions; the residuals found are at most ~1e-13 (weights of DOP853
    # and Vern7 that cancel terms of ~1e3), those of the failing order at
    # least ~7e-6.
    order = tableau.dense_output.order
    residuals = continuous_order_condition_residuals(tableau, theta, order + 1)
    assert residuals[: order - 1].max() <= ORDER_TOL
    assert residuals[order - 1] <= PUBLISHED_DEFECT.get(tableau.name, ORDER_TOL)
    # ... and the order is exact: some condition of order + 1 fails.
    assert residuals[order] > CLEAR_FAILURE * ORDER_TOL


def test_without_extra_stages_the_extended_tableau_is_the_method():
    tableau = get_tableau("tsit5")
    a, c = extended_tableau(tableau)
    assert np.array_equal(a, tableau.a) and np.array_equal(c, tableau.c)
    np.testing.assert_array_equal(
        continuous_order_condition_residuals(tableau, 0.3, 5),
        order_condition_residuals(tableau.a, tableau.dense_output.weights(0.3), tableau.c, 5, theta=0.3))


def test_extended_tableau_appends_the_extra_stages():
    tableau = get_tableau("dop853")
    a, c = extended_tableau(tableau)
    assert a.shape == (16, 16) and np.array_equal(a[:12, :12], tableau.a) and not np.triu(a).any()
    assert np.array_equal(a[14, :14], tableau.dense_output.extra_a[2]) and c[14] == 0.2
    with pytest.raises(ValueError, match="'classical-rk4' has no dense output"):
        extended_tableau(get_tableau("classical-rk4"))


def test_theta_one_gives_the_methods_own_conditions():
    tableau = get_tableau("dopri5")
    np.testing.assert_array_equal(order_condition_residuals(tableau.a, tableau.b, tableau.c, 5, theta=1.0),
                                  order_condition_residuals(tableau.a, tableau.b, tableau.c, 5))


# --------------------------------------------------------------------------
# observed order of the interpolation error
# --------------------------------------------------------------------------


def _stage_derivatives(tableau, f, t, y, h):
    """The stage derivatives k_i of one explicit Runge-Kutta step from (t, y), then the interpolant's extra ones."""
    dense = tableau.dense_output
    rows = [row[:i] for i, row in enumerate(tableau.a)] + list(dense.extra_a)
    k = np.zeros((dense.stages, y.size))
    for i, (row, node) in enumerate(zip(rows, tableau.c + dense.extra_c)):
        k[i] = f(t + node * h, y + h * (np.asarray(row) @ k[:i]))
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


# For the interpolants of order 3 and 4, errors run from ~1e-5 (h = 0.2)
# down to ~1e-13 (h = 0.025), well above round-off.  The h**(p+2) term
# still bends the fitted slope upward by up to ~0.25 over that range (it
# shrinks towards 0 as h does), hence the +-0.3 tolerance; a missing order
# would shift it by a whole unit.
#
# The order-7 interpolants fall from ~1e-9 (h = 0.4) to ~1e-15-1e-14
# (h = 0.1); at smaller steps the error meets the rounding of the float64
# weights (~1e-16 h), before the h**8 term dominates.  Over these steps the
# h**9 term bends the slope up by 0.3-0.5 for DOP853 and 0.2-1.2 for Vern7
# (measured in 60-digit arithmetic; Vern7's h**8 coefficient is small on
# this problem), so the slope may exceed order + 1 by up to 1.5 there, while
# a missing order would still bring it below order + 1 - 0.3.
SLOPE_TOL = 0.3
STEPS_AND_EXCESS = {3: (0.2 / 2.0 ** np.arange(4), SLOPE_TOL), 4: (0.2 / 2.0 ** np.arange(4), SLOPE_TOL),
                    7: (0.4 / 2.0 ** np.arange(3), 1.5)}


@with_dense_output
@pytest.mark.parametrize("theta", (0.3, 0.7))
def test_interpolation_error_has_order_plus_one_slope(tableau, theta):
    order = tableau.dense_output.order
    steps, excess = STEPS_AND_EXCESS[order]
    y0 = _riccati_exact(0.0)
    errors = []
    for h in steps:
        k = _stage_derivatives(tableau, _riccati, 0.0, y0, h)
        u = y0 + h * tableau.dense_output.weights(theta) @ k
        errors.append(abs(u - _riccati_exact(theta * h))[0])
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert order + 1 - SLOPE_TOL < slope < order + 1 + excess, slope


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


# One extra stage after Bogacki-Shampine's four: a row over the four stages
# summing to its node, and no weight (so the interpolant is unchanged).
EXTRA = dict(coefficients=[[1, "-4/3", "5/9"], [0, 1, "-2/3"], [0, "4/3", "-8/9"], [0, -1, 1], [0, 0, 0]],
             extra_a=[["1/8", "1/8", "1/8", "1/8"]], extra_c=["1/2"])


def test_extra_stages_are_read_and_counted():
    dense = _bs3(**EXTRA).dense_output
    assert dense.extra_a == ((0.125,) * 4,) and dense.extra_c == (0.5,)
    assert (dense.stages, dense.method_stages, dense.extra_stages) == (5, 4, 1)
    assert DenseOutput(coefficients=[[1]], order=1, citation="test").extra_a == ()


@pytest.mark.parametrize(
    ("fields", "pattern"),
    [
        (dict(extra_c=["1/2", 1]), r"extra_c has 2 nodes but extra_a has 1 rows"),
        (dict(extra_a=[["1/6"] * 3], extra_c=["1/2"]),
         r"row 0 of extra_a has 3 entries but extra stage 0 needs one per earlier stage \(4 of the method \+ 0 "
         r"extra = 4\)"),
        (dict(coefficients=[*EXTRA["coefficients"], [0, 0, 0]], extra_a=[["1/8"] * 4, ["1/10"] * 4],
              extra_c=["1/2", "2/5"]),
         r"row 1 of extra_a has 4 entries but extra stage 1 needs one per earlier stage \(4 of the method \+ 1 "
         r"extra = 5\)"),
        (dict(extra_a=[["1/8", "1/8", "1/8", "1/4"]]), r"row 0 of extra_a sums to 0\.625 but extra_c\[0\] = 0\.5"),
        (dict(extra_a=[["1/8", float("nan"), "1/8", "1/8"]]), r"extra_a\[0\]\[1\] is nan, not finite"),
        (dict(extra_c=[float("inf")]), r"extra_c\[0\] is inf, not finite"),
    ],
)
def test_invalid_extra_stages_are_rejected(fields, pattern):
    with pytest.raises(ValueError, match=pattern):
        DenseOutput(**{**EXTRA, **fields}, order=3, citation="test")


def test_more_extra_stages_than_rows_is_rejected():
    with pytest.raises(ValueError, match=r"2 extra stages but only 1 rows of coefficients"):
        DenseOutput(coefficients=[[1]], order=1, citation="test", extra_a=[[], [0]], extra_c=[0, 0])


@pytest.mark.parametrize(
    ("fields", "pattern"),
    [
        # an extra stage must end with weight 0 (the step's solution has none of it)
        (dict(coefficients=[*EXTRA["coefficients"][:4], [0, 0, "0.1"]]),
         r"dense output weight b_4\(1\) = 0\.1 but extra stage 0 has no weight in b"),
        # six rows: three extra stages after three of the method's, which has four
        (dict(coefficients=[*EXTRA["coefficients"], [0, 0, 0]], extra_a=[["1/6"] * 3, ["1/8"] * 4, ["1/10"] * 5],
              extra_c=["1/2"] * 3),
         r"dense output has 6 rows of coefficients for the tableau's stages and 3 extra stages but the tableau "
         r"has 4 stages"),
    ],
)
def test_extra_stages_that_do_not_fit_the_tableau_are_rejected(fields, pattern):
    with pytest.raises(ValueError, match=pattern):
        _bs3(**{**EXTRA, **fields})


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
