"""Tests for the diagonally and fully implicit Runge-Kutta tableaus (DIRK/FIRK).

Order checks use the rooted-tree conditions of the explicit tests; the
stability checks evaluate R(z) = 1 + z b^T (I - z A)^-1 1 with numpy.
"""

import math
from fractions import Fraction

import attrs
import numpy as np
import pytest
import sympy as sp

from batchode.algorithms.tableaus import (
    ALL_TABLEAUS,
    DIRK_TABLEAUS,
    FIRK_TABLEAUS,
    ButcherTableau,
    get_tableau,
)
from batchode.algorithms.tableaus.order_conditions import (
    ORDER_TOL,
    observed_algebraic_order,
    order_condition_residuals,
    stage_order,
)
from batchode.algorithms.tableaus.radau import RADAU5_ERROR_E, RADAU5_ERROR_GAMMA0

IMPLICIT = DIRK_TABLEAUS + FIRK_TABLEAUS
by_name = pytest.mark.parametrize("tableau", IMPLICIT, ids=lambda t: t.name)
embedded_only = pytest.mark.parametrize(
    "tableau", [t for t in IMPLICIT if t.b_hat is not None], ids=lambda t: t.name
)

# A violated condition must exceed the tolerance by this factor (as in
# test_tableaus.py), so "order p + 1 fails" is not decided by rounding.
CLEAR_FAILURE = 1e3


# --------------------------------------------------------------------------
# data integrity and orders
# --------------------------------------------------------------------------


@by_name
def test_reconstruction_revalidates_to_equal_tableau(tableau):
    rebuilt = ButcherTableau(**attrs.asdict(tableau, recurse=False))
    assert rebuilt == tableau and hash(rebuilt) == hash(tableau)


@by_name
def test_consistency(tableau):
    for row, ci in zip(tableau.a, tableau.c):
        assert math.fsum(row) == pytest.approx(ci, abs=1e-14)
    assert math.fsum(tableau.b) == pytest.approx(1.0, abs=1e-14)
    if tableau.b_hat is not None:
        assert math.fsum(tableau.b_hat) == pytest.approx(1.0, abs=1e-14)
        assert math.fsum(tableau.error_weights) == pytest.approx(0.0, abs=1e-14)
    values = [*tableau.b, *tableau.c, *(x for row in tableau.a for x in row)]
    assert all(type(x) is float for x in values)


@by_name
def test_declared_order_is_exact(tableau):
    assert observed_algebraic_order(tableau, max_order=tableau.order + 1) == tableau.order
    residuals = order_condition_residuals(tableau.a, tableau.b, tableau.c, tableau.order + 1)
    assert residuals[:-1].max() <= ORDER_TOL
    assert residuals[-1] > CLEAR_FAILURE * ORDER_TOL


@embedded_only
def test_declared_embedded_order_is_exact(tableau):
    p = tableau.embedded_order
    assert observed_algebraic_order(tableau, embedded=True, max_order=p + 1) == p
    residuals = order_condition_residuals(tableau.a, tableau.b_hat, tableau.c, p + 1)
    assert residuals[:-1].max() <= ORDER_TOL
    assert residuals[-1] > CLEAR_FAILURE * ORDER_TOL


# name: (family, stages, order, embedded order, first stage explicit,
#        stiffly accurate, stage order q of C(q))
# Stage orders: SDIRKs with an implicit first stage have q = 1 (row 1
# gives gamma**2 != gamma**2 / 2); ESDIRKs with a21 = gamma (Kvaerno) and
# the trapezoidal rule have q = 2; the s-stage collocation methods (Gauss,
# Radau IIA) have q = s.
EXPECTED = {
    "backwards-euler": ("dirk", 1, 1, None, False, True, 1),
    "implicit-midpoint": ("dirk", 1, 2, None, False, False, 1),
    "crank-nicolson": ("dirk", 2, 2, None, True, True, 2),
    "trapezoidal-dirk": ("dirk", 2, 2, None, True, True, 2),
    "sdirk-2-2": ("dirk", 2, 2, 1, False, True, 1),
    "l-stable-dirk-3": ("dirk", 3, 3, None, False, True, 1),
    "l-stable-sdirk-4": ("dirk", 5, 4, 3, False, True, 1),
    "kvaerno3": ("dirk", 4, 3, 2, True, True, 2),
    "kvaerno5": ("dirk", 7, 5, 4, True, True, 2),
    "radau-iia-3": ("firk", 2, 3, None, False, True, 2),
    "radau-iia-5": ("firk", 3, 5, None, False, True, 3),
    "gauss-legendre-4": ("firk", 2, 4, None, False, False, 2),
    "gauss-legendre-6": ("firk", 3, 6, None, False, False, 3),
}


def test_every_implicit_tableau_has_expectations():
    assert set(EXPECTED) == {t.name for t in IMPLICIT}


@by_name
def test_structure_flags(tableau):
    family, stages, order, emb, fse, sa, q = EXPECTED[tableau.name]
    assert tableau.family == family
    assert (tableau.stages, tableau.order, tableau.embedded_order) == (stages, order, emb)
    assert tableau.first_stage_explicit == fse
    assert tableau.is_stiffly_accurate == sa
    assert not tableau.is_explicit and not tableau.is_fsal
    assert tableau.is_diagonally_implicit == (family == "dirk")
    assert tableau.is_fully_implicit == (family == "firk")
    assert stage_order(tableau) == q


def test_explicit_tableaus_report_erk_family():
    assert {t.family for t in ALL_TABLEAUS} == {"erk"}


def test_singly_diagonal_for_sdirk_and_esdirk():
    # Every implicit stage of the SDIRK/ESDIRK methods shares one gamma.
    for name in ("sdirk-2-2", "l-stable-dirk-3", "l-stable-sdirk-4", "kvaerno3", "kvaerno5"):
        t = get_tableau(name)
        diag = {t.a[i][i] for i in range(t.stages) if t.a[i][i] != 0.0}
        assert len(diag) == 1, name


# --------------------------------------------------------------------------
# provenance of the coefficients
# --------------------------------------------------------------------------


def _rounded(expr):
    """The correctly rounded float64 of an exact sympy expression."""
    return float(Fraction(str(sp.N(expr, 50))))


def _assert_exact(tableau, a, c):
    exact_a = [[_rounded(sp.sympify(x)) for x in row] for row in a]
    assert [list(row) for row in tableau.a] == exact_a
    assert list(tableau.c) == [_rounded(sp.sympify(x)) for x in c]


def test_radau_iia_5_matches_closed_form():
    r6 = sp.sqrt(6)
    a = [
        [(88 - 7 * r6) / 360, (296 - 169 * r6) / 1800, (-2 + 3 * r6) / 225],
        [(296 + 169 * r6) / 1800, (88 + 7 * r6) / 360, (-2 - 3 * r6) / 225],
        [(16 - r6) / 36, (16 + r6) / 36, sp.Rational(1, 9)],
    ]
    _assert_exact(get_tableau("radau-iia-5"), a, [(4 - r6) / 10, (4 + r6) / 10, 1])


def test_gauss_legendre_match_closed_forms():
    r3, r15, q = sp.sqrt(3), sp.sqrt(15), sp.Rational
    a4 = [[q(1, 4), q(1, 4) - r3 / 6], [q(1, 4) + r3 / 6, q(1, 4)]]
    _assert_exact(get_tableau("gauss-legendre-4"), a4, [q(1, 2) - r3 / 6, q(1, 2) + r3 / 6])
    a6 = [
        [q(5, 36), q(2, 9) - r15 / 15, q(5, 36) - r15 / 30],
        [q(5, 36) + r15 / 24, q(2, 9), q(5, 36) - r15 / 24],
        [q(5, 36) + r15 / 30, q(2, 9) + r15 / 15, q(5, 36)],
    ]
    c6 = [q(1, 2) - r15 / 10, q(1, 2), q(1, 2) + r15 / 10]
    _assert_exact(get_tableau("gauss-legendre-6"), a6, c6)
    assert get_tableau("gauss-legendre-6").b == (5 / 18, 4 / 9, 5 / 18)


def _l_stability_root():
    g = sp.symbols("g")
    return sp.CRootOf(6 * g**3 - 18 * g**2 + 9 * g - 1, 1)  # the root near 0.4359


def test_alexander_methods_match_closed_forms():
    g2 = 1 - 1 / sp.sqrt(2)
    _assert_exact(get_tableau("sdirk-2-2"), [[g2, 0], [1 - g2, g2]], [g2, 1])
    g = _l_stability_root()
    b1, b2 = -(6 * g**2 - 16 * g + 1) / 4, (6 * g**2 - 20 * g + 5) / 4
    a = [[g, 0, 0], [(1 - g) / 2, g, 0], [b1, b2, g]]
    _assert_exact(get_tableau("l-stable-dirk-3"), a, [g, (1 + g) / 2, 1])


def test_kvaerno3_matches_closed_form_and_julia():
    g = _l_stability_root()
    a = [
        [0, 0, 0, 0],
        [g, g, 0, 0],
        [(-4 * g**2 + 6 * g - 1) / (4 * g), (1 - 2 * g) / (4 * g), g, 0],
        [
            (6 * g - 1) / (12 * g),
            -1 / ((24 * g - 12) * g),
            (-6 * g**2 + 6 * g - 1) / (6 * g - 3),
            g,
        ],
    ]
    t = get_tableau("kvaerno3")
    _assert_exact(t, a, [0, 2 * g, 1, 1])
    # Julia's Kvaerno3Tableau: gamma = 0.4358665215 (10 digits) and values
    # derived from it, so they agree with the exact-root data to ~2e-10.
    julia = {
        (1, 1): 0.4358665215,
        (2, 0): 0.490563388419108,
        (2, 1): 0.073570090080892,
        (3, 0): 0.308809969973036,
        (3, 1): 1.490563388254106,
        (3, 2): -1.235239879727145,
    }
    for (i, j), value in julia.items():
        assert t.a[i][j] == pytest.approx(value, abs=3e-10)


def test_kvaerno_embedded_is_the_second_to_last_stage():
    for name in ("kvaerno3", "kvaerno5"):
        t = get_tableau(name)
        assert t.b == t.a[-1]
        assert t.b_hat == t.a[-2][:-1] + (0.0,)
        assert t.c[-2] == t.c[-1] == 1.0


def test_kvaerno5_matches_published_decimals():
    t = get_tableau("kvaerno5")
    assert t.a[2][:2] == (0.13, 0.84033320996790809)
    assert t.b == (
        0.13659751177640291, 0.0, -0.05496908796538376, -0.04118626728321046,
        0.62993304899016403, 0.06962479448202728, 0.26,
    )
    # Julia's btilde (a6j - a7j, and gamma - a76, -gamma) is b_hat - b.
    btilde = [0.00195889053627933, 0, 0.01251571594786333, 0.06565284626324187,
              -0.01050265826535727, 0.19037520551797272, -0.26]
    np.testing.assert_allclose(np.subtract(t.b_hat, t.b), btilde, atol=1e-16)


def test_hairer4_matches_julia_weights():
    t = get_tableau("hairer4")
    assert t.name == "l-stable-sdirk-4"
    assert t.c == (0.25, 0.75, 0.55, 0.5, 1.0)
    # Julia's Hairer4Tableau: btilde = bhat - a5j = (3/16, 27/32, -25/32, 0, -1/4).
    np.testing.assert_allclose(
        np.subtract(t.b_hat, t.b), [3 / 16, 27 / 32, -25 / 32, 0, -1 / 4], atol=1e-15
    )


def test_trapezoid_names_are_separate_tableaus_with_equal_data():
    cn, tr = get_tableau("crank-nicolson"), get_tableau("trapezoidal-dirk")
    assert cn is not tr and cn.name != tr.name
    assert (cn.a, cn.b, cn.c, cn.b_hat, cn.history_estimate) == (tr.a, tr.b, tr.c, tr.b_hat, tr.history_estimate)
    assert cn.b_hat is None and cn.history_estimate.order == 3  # Julia's Trapezoid estimate


# --------------------------------------------------------------------------
# RADAU5's error estimate data
# --------------------------------------------------------------------------


def test_radau5_error_gamma0_is_the_real_eigenvalue():
    eig = np.linalg.eigvals(np.array(get_tableau("radau-iia-5").a))
    real = eig[np.abs(eig.imag) < 1e-12].real
    assert real.size == 1
    assert RADAU5_ERROR_GAMMA0 == pytest.approx(real[0], rel=1e-14)
    assert RADAU5_ERROR_GAMMA0 == _rounded((6 + sp.cbrt(81) - sp.cbrt(9)) / 30)


def test_radau5_error_coefficients_match_radau5f():
    r6 = sp.sqrt(6)
    expected = [_rounded(-(13 + 7 * r6) / 3), _rounded((-13 + 7 * r6) / 3), -1 / 3]
    assert list(RADAU5_ERROR_E) == expected


def test_radau5_estimate_is_an_order_3_formula():
    # y1_hat - y1 = gamma0 (h f0 + sum e_i z_i) with z = h (A kron I) F:
    # as a Runge-Kutta method with an extra explicit first stage (node 0)
    # the estimate's weights are (gamma0, b + gamma0 A^T e), of order 3.
    t = get_tableau("radau-iia-5")
    a = np.array(t.a)
    g0, e = RADAU5_ERROR_GAMMA0, np.array(RADAU5_ERROR_E)
    a_ext = np.zeros((4, 4))
    a_ext[1:, 1:] = a
    c_ext = np.concatenate([[0.0], t.c])
    b_hat_ext = np.concatenate([[g0], np.array(t.b) + g0 * a.T @ e])
    assert b_hat_ext.sum() == pytest.approx(1.0, abs=1e-14)
    residuals = order_condition_residuals(a_ext, b_hat_ext, c_ext, 4)
    assert residuals[:3].max() <= ORDER_TOL < CLEAR_FAILURE * ORDER_TOL < residuals[3]


# --------------------------------------------------------------------------
# linear stability
# --------------------------------------------------------------------------


def stability_function(tableau, z):
    """R(z) = 1 + z b^T (I - z A)^-1 1 for an array of complex z."""
    a, b = np.array(tableau.a), np.array(tableau.b)
    s = tableau.stages
    z = np.asarray(z, dtype=complex).reshape(-1)
    lhs = np.eye(s)[None] - z[:, None, None] * a[None]
    x = np.linalg.solve(lhs, np.broadcast_to(np.ones(s, dtype=complex), (z.size, s))[..., None])
    return 1 + z * (x[..., 0] @ b)


IMAG_AXIS = 1j * np.concatenate([-np.logspace(-3, 6, 300), [0.0], np.logspace(-3, 6, 300)])


def left_half_plane(rng) -> np.ndarray:
    """2000 points of the left half-plane: magnitudes from 1e-3 to 1e5, all directions."""
    scale = np.logspace(-3, 5, 2000)
    return -np.abs(rng.standard_normal(2000)) * scale + 1j * (rng.standard_normal(2000) * scale)


L_STABLE = {
    "backwards-euler", "sdirk-2-2", "l-stable-dirk-3", "l-stable-sdirk-4",
    "kvaerno3", "kvaerno5", "radau-iia-3", "radau-iia-5",
}
# |R(iy)| = 1: the symmetric methods (R(-z) R(z) = 1).
CONSERVATIVE = {
    "implicit-midpoint", "crank-nicolson", "trapezoidal-dirk",
    "gauss-legendre-4", "gauss-legendre-6",
}


def test_stability_classes_cover_every_implicit_tableau():
    assert L_STABLE | CONSERVATIVE == {t.name for t in IMPLICIT}
    assert not L_STABLE & CONSERVATIVE


@by_name
def test_stability_function_approximates_exp(tableau):
    # R(z) - exp(z) = O(z**(p+1)) (at least: the linear order may exceed p).
    z = np.array([0.2, 0.1]) * np.exp(0.7j)
    err = np.abs(stability_function(tableau, z) - np.exp(z))
    assert math.log2(err[0] / err[1]) > tableau.order + 1 - 0.2


@by_name
def test_a_stability(tableau):
    # All implicit tableaus here are A-stable: |R| <= 1 on the imaginary
    # axis and no poles in the left half-plane (the poles are 1/lambda for
    # the nonzero eigenvalues lambda of A, all with Re > 0), hence by the
    # maximum principle |R| <= 1 on the whole left half-plane.
    assert np.abs(stability_function(tableau, IMAG_AXIS)).max() <= 1 + 1e-12
    eig = np.linalg.eigvals(np.array(tableau.a))
    assert np.all(eig[np.abs(eig) > 1e-12].real > 0)
    sample = left_half_plane(np.random.default_rng(20240611))
    assert np.abs(stability_function(tableau, sample)).max() <= 1 + 1e-12


@by_name
def test_l_stability(tableau):
    r_inf = abs(stability_function(tableau, [-1e8])[0])
    if tableau.name in L_STABLE:
        assert r_inf < 1e-6
    else:
        assert r_inf == pytest.approx(1.0, abs=1e-6)  # R(-inf) = +-1


@pytest.mark.parametrize("name", sorted(CONSERVATIVE))
def test_symmetric_methods_preserve_modulus_on_imaginary_axis(name):
    r = np.abs(stability_function(get_tableau(name), IMAG_AXIS))
    np.testing.assert_allclose(r, 1.0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(L_STABLE - {"backwards-euler"}))
def test_l_stable_methods_damp_the_imaginary_axis(name):
    # Strictly inside the unit disc away from 0: the methods dissipate.
    r = np.abs(stability_function(get_tableau(name), 1j * np.array([1.0, 10.0, 1e3])))
    assert np.all(r < 1)


def test_filtered_estimate_is_registered_for_radau_iia_5_only():
    from batchode.algorithms.tableaus import estimates_error, filtered_error_estimate
    from batchode.algorithms.tableaus.radau import RADAU_IIA_5_ERROR_ESTIMATE

    assert filtered_error_estimate(get_tableau("radau-iia-5")) is RADAU_IIA_5_ERROR_ESTIMATE
    assert RADAU_IIA_5_ERROR_ESTIMATE.gamma0 == RADAU5_ERROR_GAMMA0
    assert RADAU_IIA_5_ERROR_ESTIMATE.e == RADAU5_ERROR_E
    adaptive = {t.name for t in FIRK_TABLEAUS if estimates_error(t)}
    assert adaptive == {"radau-iia-5"}


def test_filtered_estimate_validates_its_order_and_shape():
    from batchode.algorithms.tableaus.radau import FilteredErrorEstimate

    radau5 = get_tableau("radau-iia-5")
    # gamma0 only scales the estimate; its order is fixed by e.
    perturbed = (*RADAU5_ERROR_E[:2], RADAU5_ERROR_E[2] * 1.01)
    with pytest.raises(ValueError, match="radau-iia-5.*not of order 3"):
        FilteredErrorEstimate(radau5, RADAU5_ERROR_GAMMA0, perturbed, 3, "perturbed")
    with pytest.raises(ValueError, match="e has 2 entries, expected 3"):
        FilteredErrorEstimate(radau5, RADAU5_ERROR_GAMMA0, RADAU5_ERROR_E[:2], 3, "short")
    with pytest.raises(ValueError, match="gamma0 must be positive"):
        FilteredErrorEstimate(radau5, -1.0, RADAU5_ERROR_E, 3, "negative")
