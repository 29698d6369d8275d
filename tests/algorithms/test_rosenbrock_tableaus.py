"""Tests for the Rosenbrock(-W) tableaus: data, algebraic and numerical orders."""

import math
from fractions import Fraction

import attrs
import numpy as np
import pytest

from batchode.algorithms.tableaus import ROSENBROCK_TABLEAUS, RosenbrockTableau, get_tableau
from batchode.algorithms.tableaus.order_conditions import (
    ORDER_TOL,
    observed_algebraic_order,
    order_condition_residuals,
    rosenbrock_order_condition_residuals,
)

by_name = pytest.mark.parametrize("tableau", ROSENBROCK_TABLEAUS, ids=lambda t: t.name)
CLEAR_FAILURE = 1e3

SQRT2, SQRT3 = math.sqrt(2), math.sqrt(3)


# --------------------------------------------------------------------------
# data integrity
# --------------------------------------------------------------------------


@by_name
def test_reconstruction_revalidates_to_equal_tableau(tableau):
    rebuilt = RosenbrockTableau(**attrs.asdict(tableau, recurse=False))
    assert rebuilt == tableau and hash(rebuilt) == hash(tableau)


@by_name
def test_structure(tableau):
    s = tableau.stages
    alpha, gamma = np.array(tableau.alpha), np.array(tableau.gamma)
    assert alpha.shape == gamma.shape == (s, s)
    assert np.all(np.triu(alpha) == 0.0)
    assert np.all(np.triu(gamma, 1) == 0.0)
    assert np.all(np.diag(gamma) == tableau.gamma_diag) and tableau.gamma_diag > 0
    assert tableau.family == "rosenbrock" and not tableau.is_explicit
    values = [*tableau.b, *tableau.b_hat]
    values += [x for m in (tableau.alpha, tableau.gamma) for row in m for x in row]
    assert all(type(x) is float for x in values)


@by_name
def test_weights_and_derived_nodes(tableau):
    assert math.fsum(tableau.b) == pytest.approx(1.0, abs=1e-14)
    assert math.fsum(tableau.b_hat) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(tableau.c, np.sum(tableau.alpha, axis=1), atol=1e-15)
    np.testing.assert_allclose(tableau.d, np.sum(tableau.gamma, axis=1), atol=1e-15)
    np.testing.assert_allclose(tableau.error_weights, np.subtract(tableau.b, tableau.b_hat))


@by_name
def test_transformed_coefficients_invert_to_standard_form(tableau):
    gamma = np.array(tableau.gamma)
    gamma_inv = np.linalg.inv(gamma)
    A, C = np.array(tableau.A), np.array(tableau.C)
    assert np.all(np.triu(A) == 0.0) and np.all(np.triu(C) == 0.0)
    np.testing.assert_allclose(A @ gamma, tableau.alpha, atol=1e-13)
    np.testing.assert_allclose(np.diag(1 / np.diag(gamma)) - C, gamma_inv, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.array(tableau.m) @ gamma, tableau.b, atol=1e-13)
    np.testing.assert_allclose(np.array(tableau.m_hat) @ gamma, tableau.b_hat, atol=1e-13)
    np.testing.assert_allclose(tableau.m_error, np.subtract(tableau.m, tableau.m_hat), atol=1e-13)


@by_name
def test_from_transformed_round_trip(tableau):
    rebuilt = RosenbrockTableau.from_transformed(
        name=tableau.name, gamma_diag=tableau.gamma_diag, A=tableau.A, C=tableau.C,
        m=tableau.m, m_hat=tableau.m_hat, order=tableau.order,
        embedded_order=tableau.embedded_order, citation="round trip",
    )
    for field in ("alpha", "gamma"):
        np.testing.assert_allclose(getattr(rebuilt, field), getattr(tableau, field),
                                   rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(rebuilt.b, tableau.b, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(rebuilt.b_hat, tableau.b_hat, rtol=1e-14, atol=1e-14)


# --------------------------------------------------------------------------
# algebraic order (Rosenbrock conditions, exact Jacobian)
# --------------------------------------------------------------------------


@by_name
def test_declared_order_is_exact(tableau):
    p = tableau.order
    assert observed_algebraic_order(tableau, max_order=p + 1) == p
    r = rosenbrock_order_condition_residuals(tableau.alpha, tableau.gamma, tableau.b, p + 1)
    assert r[:-1].max() <= ORDER_TOL < CLEAR_FAILURE * ORDER_TOL < r[-1]


@by_name
def test_declared_embedded_order_is_exact(tableau):
    q = tableau.embedded_order
    assert observed_algebraic_order(tableau, embedded=True, max_order=q + 1) == q
    r = rosenbrock_order_condition_residuals(tableau.alpha, tableau.gamma, tableau.b_hat, q + 1)
    assert r[:-1].max() <= ORDER_TOL < CLEAR_FAILURE * ORDER_TOL < r[-1]


def test_low_order_conditions_in_hairer_wanner_form():
    # HW II Table 7.1 with beta_jk = alpha_jk + gamma_jk (k < j) and the
    # diagonal gamma: sum b = 1, sum b_j beta_jk = 1/2 - gamma,
    # sum b_j alpha_jk alpha_jl = 1/3, sum b_j beta_jk beta_kl = 1/6 - gamma + gamma**2.
    for t in ROSENBROCK_TABLEAUS:
        al, ga = np.array(t.alpha), np.array(t.gamma)
        beta = al + np.tril(ga, -1)
        g, one = t.gamma_diag, np.ones(t.stages)
        for w, p in ((t.b, t.order), (t.b_hat, t.embedded_order)):
            w = np.array(w)
            assert w.sum() == pytest.approx(1, abs=1e-13)
            assert w @ beta @ one == pytest.approx(0.5 - g, abs=1e-13)
            if p >= 3:
                assert w @ (al @ one) ** 2 == pytest.approx(1 / 3, abs=1e-13)
                assert w @ beta @ beta @ one == pytest.approx(1 / 6 - g + g * g, abs=1e-13)


# name: (stages, order, embedded order, stiffly accurate, fsal, L-stable)
EXPECTED = {
    "rosenbrock23": (3, 2, 3, False, True, True),
    "ros3p": (3, 3, 2, False, False, False),
    "rodas3p": (5, 3, 2, True, False, True),
    "rodas4": (6, 4, 3, True, False, True),
    "rodas5p": (8, 5, 4, True, False, True),
}


def test_every_rosenbrock_tableau_has_expectations():
    assert set(EXPECTED) == {t.name for t in ROSENBROCK_TABLEAUS}


@by_name
def test_summary_and_flags(tableau):
    stages, order, emb, sa, fsal, _ = EXPECTED[tableau.name]
    assert (tableau.stages, tableau.order, tableau.embedded_order) == (stages, order, emb)
    assert tableau.is_stiffly_accurate == sa
    assert tableau.is_fsal == fsal


def rosenbrock_stability(tableau, z):
    """R(z) = 1 + z b^T (I - z (alpha + Gamma))^-1 1 (HW II, IV.7)."""
    m = np.array(tableau.alpha) + np.array(tableau.gamma)
    s = tableau.stages
    return np.array([1 + zz * np.array(tableau.b) @ np.linalg.solve(np.eye(s) - zz * m, np.ones(s))
                     for zz in np.asarray(z, dtype=complex)])


@by_name
def test_linear_stability(tableau):
    # All five are A-stable; the stiffly accurate ones and rosenbrock23 have
    # R(-inf) = 0, while ROS3P has R(-inf) = 0.73 (A- but not L-stable).
    y = np.concatenate([-np.logspace(-3, 6, 200), np.logspace(-3, 6, 200)])
    assert np.abs(rosenbrock_stability(tableau, 1j * y)).max() <= 1 + 1e-12
    r_inf = abs(rosenbrock_stability(tableau, [-1e8])[0])
    if EXPECTED[tableau.name][5]:
        assert r_inf < 1e-6
    else:
        assert r_inf == pytest.approx(0.7320508075688772, abs=1e-6)  # sqrt(3) - 1


# --------------------------------------------------------------------------
# agreement with the sources
# --------------------------------------------------------------------------


def test_rosenbrock23_standard_form():
    t = get_tableau("rosenbrock23-sciml")
    d = 1 / (2 + SQRT2)
    assert t.name == "rosenbrock23"
    assert t.gamma_diag == pytest.approx(d, rel=1e-15)
    np.testing.assert_allclose(t.gamma[2], [3 - SQRT2, 2 * SQRT2 - 5, d], rtol=1e-15)
    np.testing.assert_allclose(t.c, [0, 0.5, 1])
    np.testing.assert_allclose(t.d, [d, 0, -d], atol=1e-16)
    assert t.b == (0.0, 1.0, 0.0) and t.b_hat == (1 / 6, 2 / 3, 1 / 6)


def test_rosenbrock23_is_a_w_method_of_order_2():
    # For an arbitrary matrix W in place of J the order-2 conditions split
    # into b.1 = 1, b.c = 1/2 and b.d = 0 (the W-terms must cancel).
    t = get_tableau("rosenbrock23")
    b = np.array(t.b)
    assert b.sum() == 1 and b @ t.c == 0.5 and b @ t.d == pytest.approx(0, abs=1e-16)
    # With W = I (J replaced by 0) the scheme is the explicit method
    # (alpha, b): b keeps order 2 but the order-3 companion drops to 2, so
    # the estimate's third order needs the exact Jacobian.
    alpha, c = t.alpha, t.c
    assert order_condition_residuals(alpha, t.b, c, 2).max() <= ORDER_TOL
    r = order_condition_residuals(alpha, t.b_hat, c, 3)
    assert r[:2].max() <= ORDER_TOL < CLEAR_FAILURE * ORDER_TOL < r[2]


def test_ros3p_reproduces_julia_transformed_coefficients():
    t = get_tableau("ros3p")
    g = 0.5 + SQRT3 / 6
    ig = 1 / g
    tmp = -ig * (2 - 0.5 * ig)
    tmp2 = ig * (2 / 3 - ig / 6)
    np.testing.assert_allclose(t.A, [[0, 0, 0], [ig, 0, 0], [ig, 0, 0]], rtol=1e-14)
    np.testing.assert_allclose(
        t.C, [[0, 0, 0], [-ig**2, 0, 0], [-ig * (1 - tmp), tmp, 0]], rtol=1e-14, atol=1e-14
    )
    np.testing.assert_allclose(t.m, [ig * (1 + tmp2), tmp2, ig / 3], rtol=1e-14)
    np.testing.assert_allclose(t.m_hat, [2.113248654051871, 1.0, 0.4226497308103742], rtol=1e-15)
    np.testing.assert_allclose(t.c, [0, 1, 1])
    np.testing.assert_allclose(t.d, [0.7886751345948129, -0.2113248654051871, -1.077350269189626],
                               rtol=1e-15)
    assert t.b == (2 / 3, 0.0, 1 / 3) and t.b_hat == (1 / 3, 1 / 3, 1 / 3)


def test_rodas3p_standard_form_is_rational():
    t = get_tableau("rodas3p")
    f = lambda *xs: tuple(float(Fraction(x)) for x in xs)  # noqa: E731
    assert t.b == f("33/8", "-27/8", "-3/4", "2/3", "1/3")
    assert t.b_hat == f("3/8", "3/8", "-1/12", "1/3", "0")
    # c and d are sums of rounded entries, so equal to ~1e-16.
    np.testing.assert_allclose(t.c, f("0", "4/9", "0", "1", "1"), atol=1e-15)
    np.testing.assert_allclose(t.d, f("1/3", "-1/9", "1", "0", "0"), atol=1e-15)
    assert t.gamma_diag == 1 / 3
    np.testing.assert_allclose(t.A[3][:3], [2.90625, 3.375, 0.40625], rtol=1e-15)
    np.testing.assert_allclose(t.C[4][:4], [4.03125, -15.1875, -4.03125, 6.0], rtol=1e-15)
    np.testing.assert_allclose(t.m_error, [0, 0, 0, -1, 1], atol=1e-15)


RODAS4_JULIA = dict(
    c=[0, 0.386, 0.21, 0.63, 1, 1],
    d=[0.25, -0.1043, 0.1035, -0.0362, 0, 0],
    A_last=[1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950, 1],
    C_last=[8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136,
            -6.058818238834054],
)

RODAS5P_JULIA = dict(
    c=[0, 0.6358126895828704, 0.4095798393397535, 0.9769306725060716, 0.4288403609558664, 1, 1, 1],
    d=[0.21193756319429014, -0.42387512638858027, -0.3384627126235924, 1.8046452872882734,
       2.325825639765069, 0, 0, 0],
    A_last=[-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256,
            0.030198172008377946, 1, 1],
    C_last=[37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047,
            -40.06618937091002, -54.66780262877968, -9.48861652309627],
)


@pytest.mark.parametrize(("name", "julia"), [("rodas4", RODAS4_JULIA), ("rodas5p", RODAS5P_JULIA)])
def test_rodas_reproduces_julia_data(name, julia):
    # The 16-17 digit source data leave residues of a few 1e-15 (entries of
    # C reach ~112), hence the tolerances.
    t = get_tableau(name)
    s = t.stages
    np.testing.assert_allclose(t.c, julia["c"], atol=5e-15)
    np.testing.assert_allclose(t.d, julia["d"], atol=5e-15)
    np.testing.assert_allclose(t.A[-1][: s - 1], julia["A_last"], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(t.C[-1][: s - 1], julia["C_last"], rtol=1e-13, atol=1e-13)
    # The error estimate is the last increment: m - m_hat = e_s.
    np.testing.assert_allclose(t.m_error, np.eye(s)[-1], atol=1e-13)


# --------------------------------------------------------------------------
# numerical order with a reference implementation
# --------------------------------------------------------------------------


def ros_step(tableau, weights, f, jac, f_t, t, y, h):
    """One step of the standard form with the exact Jacobian (dense solve)."""
    al, ga = np.array(tableau.alpha), np.array(tableau.gamma)
    jm, ft = jac(t, y), f_t(t, y)
    lhs = np.eye(y.size) - h * tableau.gamma_diag * jm
    k = np.zeros((tableau.stages, y.size))
    for i in range(tableau.stages):
        rhs = (h * f(t + tableau.c[i] * h, y + al[i, :i] @ k[:i])
               + h * jm @ (ga[i, :i] @ k[:i]) + h * h * tableau.d[i] * ft)
        k[i] = np.linalg.solve(lhs, rhs)
    return y + np.asarray(weights) @ k


def ros_step_transformed(tableau, f, jac, f_t, t, y, h):
    """One step of the u-form (HW II (7.25)); returns (y1, y1 - y1_hat)."""
    A, C = np.array(tableau.A), np.array(tableau.C)
    jm, ft = jac(t, y), f_t(t, y)
    lhs = np.eye(y.size) / (h * tableau.gamma_diag) - jm
    u = np.zeros((tableau.stages, y.size))
    for i in range(tableau.stages):
        rhs = (f(t + tableau.c[i] * h, y + A[i, :i] @ u[:i])
               + (C[i, :i] @ u[:i]) / h + h * tableau.d[i] * ft)
        u[i] = np.linalg.solve(lhs, rhs)
    return y + np.array(tableau.m) @ u, np.array(tableau.m_error) @ u


# y' = cos(t) (1 + y**2), y(0) = 0: nonlinear and non-autonomous
# (f_t = -sin(t) (1 + y**2)), exact solution tan(sin t).
TAN_SIN = (
    lambda t, y: np.cos(t) * (1 + y**2),
    lambda t, y: np.array([[2 * y[0] * np.cos(t)]]),
    lambda t, y: -np.sin(t) * (1 + y**2),
    np.array([0.0]),
    lambda t: np.array([np.tan(np.sin(t))]),
)


def _circle_f(t, y):
    r = 1 - y @ y
    return np.array([-y[1] + y[0] * r, y[0] + y[1] * r])


def _circle_jac(t, y):
    r = 1 - y @ y
    return np.array([[r - 2 * y[0] ** 2, -1 - 2 * y[0] * y[1]],
                     [1 - 2 * y[0] * y[1], r - 2 * y[1] ** 2]])


# A nonlinear 2-state system whose attracting unit circle is traversed
# exactly: y(0) = (1, 0) gives y = (cos t, sin t).
CIRCLE = (_circle_f, _circle_jac, lambda t, y: np.zeros(2), np.array([1.0, 0.0]),
          lambda t: np.array([np.cos(t), np.sin(t)]))

# Step counts on [0, 1] per order.  The global errors then lie between
# ~1e-11 and ~1e-4: well above the accumulated round-off (N * 1e-16 <=
# 1e-13), yet in the asymptotic range, where the slope of the finest pair
# is within ~0.15 of the order for every method and both solutions.  (On
# some problems the embedded order-4 solution of Rodas5P shows slopes
# near 3.7 until N ~ 256, because its h**4 and h**5 error terms nearly
# cancel - e.g. y' = -2 t y**2 - so the problems are chosen to avoid
# that, not the tolerance widened.)
STEP_COUNTS = {2: (32, 64, 128), 3: (32, 64, 128), 4: (32, 64, 128), 5: (16, 32, 64)}


def _global_error(tableau, problem, n, embedded):
    f, jac, f_t, y0, exact = problem
    weights = tableau.b_hat if embedded else tableau.b
    y, h = y0.copy(), 1.0 / n
    for k in range(n):
        y = ros_step(tableau, weights, f, jac, f_t, k * h, y, h)
    return np.abs(y - exact(1.0)).max()


@by_name
@pytest.mark.parametrize("problem", [TAN_SIN, CIRCLE], ids=["tan_sin", "circle"])
@pytest.mark.parametrize("embedded", [False, True], ids=["b", "b_hat"])
def test_observed_convergence_order(tableau, problem, embedded):
    p = tableau.embedded_order if embedded else tableau.order
    steps = np.array(STEP_COUNTS[p])
    errors = np.array([_global_error(tableau, problem, n, embedded) for n in steps])
    assert errors.min() > 1e-12
    slope = math.log(errors[-2] / errors[-1]) / math.log(steps[-1] / steps[-2])
    assert abs(slope - p) < (0.3 if embedded else 0.25), (errors, slope)


@by_name
@pytest.mark.parametrize("problem", [TAN_SIN, CIRCLE], ids=["tan_sin", "circle"])
def test_transformed_form_step_matches_standard_form(tableau, problem):
    f, jac, f_t, y0, _ = problem
    t, y, h = 0.3, y0 + 0.1, 0.1
    y1, err = ros_step_transformed(tableau, f, jac, f_t, t, y, h)
    np.testing.assert_allclose(y1, ros_step(tableau, tableau.b, f, jac, f_t, t, y, h), rtol=1e-13)
    y1_hat = ros_step(tableau, tableau.b_hat, f, jac, f_t, t, y, h)
    np.testing.assert_allclose(err, y1 - y1_hat, atol=1e-15)


def test_rosenbrock23_matches_the_published_formulas():
    # Shampine & Reichelt's ode23s step, transcribed literally.
    t23 = get_tableau("rosenbrock23")
    d, e32 = 1 / (2 + SQRT2), 6 + SQRT2
    for f, jac, f_t, y0, _ in (TAN_SIN, CIRCLE):
        t, y, h = 0.3, y0 + 0.1, 0.1
        w = np.eye(y.size) - h * d * jac(t, y)
        T = f_t(t, y)
        f0 = f(t, y)
        k1 = np.linalg.solve(w, f0 + h * d * T)
        f1 = f(t + h / 2, y + h / 2 * k1)
        k2 = np.linalg.solve(w, f1 - k1) + k1
        y1 = y + h * k2
        f2 = f(t + h, y1)
        k3 = np.linalg.solve(w, f2 - e32 * (k2 - f1) - 2 * (k1 - f0) + h * d * T)
        err = h / 6 * (k1 - 2 * k2 + k3)
        ours, ours_err = ros_step_transformed(t23, f, jac, f_t, t, y, h)
        np.testing.assert_allclose(ours, y1, rtol=1e-14)
        # error_weights = b - b_hat = -(1/6, -1/3, 1/6): our estimate is -err.
        np.testing.assert_allclose(ours_err, -err, rtol=1e-11, atol=1e-17)


# --------------------------------------------------------------------------
# construction: validation
# --------------------------------------------------------------------------


def _make(**overrides):
    """A valid two-stage tableau (ROS2-like: gamma = 1 + 1/sqrt2), overridable."""
    g = 1 + 1 / SQRT2
    fields = dict(
        name="test-ros2",
        alpha=[[0, 0], [1 / g, 0]],
        gamma=[[g, 0], [-2 / g, g]],
        b=["1/2", "1/2"],
        order=2,
        b_hat=[1, 0],
        embedded_order=1,
        citation="test",
    )
    fields.update(overrides)
    return RosenbrockTableau(**fields)


def test_valid_minimal_tableau_and_conversion():
    t = _make()
    assert t.stages == 2 and t.c == (0.0, 1 / (1 + 1 / SQRT2))
    assert t.m_hat is not None and t.m_error is not None
    assert RosenbrockTableau(**attrs.asdict(t, recurse=False)) == t


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (dict(alpha=[[0.1, 0], [1, 0]]), r"alpha must be strictly lower triangular"),
        (dict(gamma=[[1, 0.5], [0, 1]]), r"gamma must be lower triangular"),
        (dict(gamma=[[1, 0], [0, 2]]), r"diagonal of gamma must be constant"),
        (dict(gamma=[[-1, 0], [0, -1]]), r"diagonal of gamma must be positive"),
        (dict(b=["1/2", "0.4"]), r"b sums to 0\.9"),
        (dict(b_hat=["0.9", 0]), r"b_hat sums to 0\.9"),
        (dict(b_hat=["1/2", "1/2"]), r"b_hat equals b"),
        (dict(b_hat=None), r"embedded_order must be given exactly when b_hat is given"),
        (dict(alpha=[[0, 0], [1, 0], [0, 0]]), r"alpha has 3 rows"),
        (dict(gamma=[[1], [0, 1]]), r"row 0 of gamma has 1 entries, expected 2"),
        (dict(b_hat=[1, 0, 0]), r"b_hat has 3 entries"),
        (dict(order=0), r"order must be >= 1"),
        (dict(b=[float("nan"), 0.5]), r"b has a non-finite entry"),
        (dict(b=[]), r"b is empty"),
    ],
)
def test_invalid_tableau_is_rejected(overrides, pattern):
    with pytest.raises(ValueError, match=pattern) as excinfo:
        _make(**overrides)
    assert "'test-ros2'" in str(excinfo.value)


def test_from_transformed_rejects_upper_entries():
    with pytest.raises(ValueError, match="C must be strictly lower triangular"):
        RosenbrockTableau.from_transformed(
            name="bad", gamma_diag="1/2", A=[[0, 0], [1, 0]], C=[[0, 1], [1, 0]], m=[1, 0],
            m_hat=None, order=1, embedded_order=None, citation="test",
        )


def test_from_transformed_rejects_bad_shapes():
    with pytest.raises(ValueError, match="row 1 of C has 3 entries"):
        RosenbrockTableau.from_transformed(
            name="bad", gamma_diag="1/2", A=[[], [1]], C=[[], [1, 2, 3]], m=[1, 0], m_hat=None,
            order=1, embedded_order=None, citation="test",
        )
