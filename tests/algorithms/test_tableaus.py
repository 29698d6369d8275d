"""Tests for the Butcher tableau data, the order conditions and the registry."""

import cmath
import math
from fractions import Fraction

import attrs
import numpy as np
import pytest

from batchode.algorithms.tableaus import (
    ALL_TABLEAUS,
    ButcherTableau,
    available_tableaus,
    get_tableau,
)
from batchode.algorithms.tableaus.dormand_prince import (
    DOP853_THIRD_ORDER_WEIGHTS,
    DORMAND_PRINCE_853,
)
from batchode.algorithms.tableaus.order_conditions import (
    ORDER_TOL,
    density,
    observed_algebraic_order,
    order_condition_residuals,
    rooted_trees,
    tree_order,
)

by_name = pytest.mark.parametrize("tableau", ALL_TABLEAUS, ids=lambda t: t.name)
embedded_only = pytest.mark.parametrize(
    "tableau", [t for t in ALL_TABLEAUS if t.b_hat is not None], ids=lambda t: t.name
)

# A violated condition must exceed the tolerance by this factor, so that
# "order p + 1 fails" is not a marginal call decided by rounding.
CLEAR_FAILURE = 1e3


# --------------------------------------------------------------------------
# consistency of the registered data
# --------------------------------------------------------------------------


@by_name
def test_reconstruction_revalidates_to_equal_tableau(tableau):
    rebuilt = ButcherTableau(**attrs.asdict(tableau, recurse=False))
    assert rebuilt == tableau
    assert hash(rebuilt) == hash(tableau)


@by_name
def test_row_sums_equal_nodes(tableau):
    for row, ci in zip(tableau.a, tableau.c):
        assert math.fsum(row) == pytest.approx(ci, abs=1e-14)


@by_name
def test_weights_sum_to_one(tableau):
    assert math.fsum(tableau.b) == pytest.approx(1.0, abs=1e-14)
    if tableau.b_hat is not None:
        assert math.fsum(tableau.b_hat) == pytest.approx(1.0, abs=1e-14)


@by_name
def test_shapes_and_types(tableau):
    s = tableau.stages
    assert len(tableau.a) == len(tableau.c) == s
    assert all(len(row) == s for row in tableau.a)
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


@embedded_only
def test_error_weights_are_b_minus_b_hat(tableau):
    expected = np.subtract(tableau.b, tableau.b_hat)
    np.testing.assert_array_equal(tableau.error_weights, expected)
    assert math.fsum(tableau.error_weights) == pytest.approx(0.0, abs=1e-14)


def test_methods_without_embedded_pair():
    for tableau in ALL_TABLEAUS:
        if tableau.b_hat is None:
            assert tableau.embedded_order is None and tableau.error_weights is None
    no_pair = {t.name for t in ALL_TABLEAUS if t.b_hat is None}
    assert no_pair == {"euler", "ralston-33", "classical-rk4"}
    # classical-rk4 adapts with Shampine's residual estimate instead.
    residual = {t.name for t in ALL_TABLEAUS if t.residual_estimate is not None}
    assert residual == {"classical-rk4"}
    assert {t.name for t in ALL_TABLEAUS if not t.has_error_estimate} == {"euler", "ralston-33"}


FSAL = {"bogacki-shampine-32", "dormand-prince-54", "tsit5"}


@by_name
def test_structure_flags(tableau):
    assert tableau.is_explicit
    assert tableau.first_stage_explicit
    assert not tableau.is_diagonally_implicit
    assert not tableau.is_fully_implicit
    assert tableau.is_fsal == (tableau.name in FSAL)
    assert tableau.is_stiffly_accurate == (tableau.name in FSAL)


@pytest.mark.parametrize(
    ("name", "stages", "order", "embedded_order"),
    [
        ("euler", 1, 1, None),
        ("heun-21", 2, 2, 1),
        ("ralston-33", 3, 3, None),
        ("classical-rk4", 4, 4, None),
        ("bogacki-shampine-32", 4, 3, 2),
        ("dormand-prince-54", 7, 5, 4),
        ("dormand-prince-853", 12, 8, 5),
        ("cash-karp-54", 6, 5, 4),
        ("fehlberg-45", 6, 5, 4),
        ("tsit5", 7, 5, 4),
        ("vern7", 10, 7, 6),
    ],
)
def test_method_summary(name, stages, order, embedded_order):
    tableau = get_tableau(name)
    assert (tableau.stages, tableau.order, tableau.embedded_order) == (
        stages,
        order,
        embedded_order,
    )


def test_dop853_error_estimators_match_hairer_code():
    t = DORMAND_PRINCE_853
    # er_1 and er_12 of dop853.f; b - b_hat reproduces them to rounding.
    assert t.error_weights[0] == pytest.approx(0.1312004499419488073250102996e-1, rel=1e-15)
    assert t.error_weights[11] == pytest.approx(-0.2235530786388629525884427845e-1, rel=1e-15)
    # The order-3 weights of Hairer's second estimate.
    assert math.fsum(DOP853_THIRD_ORDER_WEIGHTS) == pytest.approx(1.0, abs=1e-15)
    residuals = order_condition_residuals(t.a, DOP853_THIRD_ORDER_WEIGHTS, t.c, 4)
    assert residuals[:3].max() <= ORDER_TOL < CLEAR_FAILURE * ORDER_TOL < residuals[3]


def test_tsit5_survives_sixteen_digit_coefficients():
    # Tsitouras published ~16 significant digits; data rounded that way
    # must still validate and show orders 5(4) at the default tolerance.
    tsit5 = get_tableau("tsit5")

    def digits16(values):
        return [f"{x:.15e}" for x in values]

    rounded = ButcherTableau(
        name="tsit5-16-digits",
        a=[digits16(row) for row in tsit5.a],
        b=digits16(tsit5.b),
        c=digits16(tsit5.c),
        order=5,
        b_hat=digits16(tsit5.b_hat),
        embedded_order=4,
        citation="test",
    )
    assert observed_algebraic_order(rounded, max_order=6) == 5
    assert observed_algebraic_order(rounded, embedded=True, max_order=5) == 4


# --------------------------------------------------------------------------
# a quick numerical convergence check
# --------------------------------------------------------------------------

# Step counts per order.  The problem is y' = i*y on [0, 1] (exact
# solution exp(i*t)).  It is used instead of y' = y because for y' = y
# Tsit5's leading error term nearly cancels against the next one, so its
# slope only settles at order 5 once the error is below float64 round-off.
# Step sizes are chosen so that every error lies between ~1e-13 and
# ~1e-2: small enough to be asymptotic, large enough that the O(n * 1e-16)
# accumulated round-off is negligible, hence the very large steps (h = 1,
# 1/2, 1/4) for the order-8 method.
STEP_COUNTS = {
    1: (32, 64, 128),
    2: (32, 64, 128),
    3: (16, 32, 64),
    4: (16, 32, 64),
    5: (8, 16, 32),
    7: (2, 4, 8),
    8: (1, 2, 4),
}


def _global_error(tableau, n_steps, lam=1j):
    a = np.array(tableau.a)
    b = np.array(tableau.b)
    h = 1.0 / n_steps
    y = 1.0 + 0.0j
    for _ in range(n_steps):
        k = np.zeros(tableau.stages, dtype=complex)
        for i in range(tableau.stages):
            k[i] = lam * (y + h * (a[i, :i] @ k[:i]))
        y = y + h * (b @ k)
    return abs(y - cmath.exp(lam))


@by_name
def test_observed_convergence_slope(tableau):
    steps = np.array(STEP_COUNTS[tableau.order])
    errors = [_global_error(tableau, n) for n in steps]
    slope = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - tableau.order) < 0.2


# --------------------------------------------------------------------------
# rooted trees and order conditions
# --------------------------------------------------------------------------


def test_tree_counts():
    counts = [len(rooted_trees(p)) for p in range(1, 9)]
    assert counts == [1, 1, 2, 4, 9, 20, 48, 115]


@pytest.mark.parametrize("p", range(1, 9))
def test_trees_are_distinct_and_of_right_order(p):
    trees = rooted_trees(p)
    assert len(set(trees)) == len(trees)
    assert all(tree_order(t) == p for t in trees)


def test_densities_of_tall_and_bushy_trees():
    tall = ()
    for p in range(2, 9):
        tall = (tall,)
        assert density(tall) == math.factorial(p)
        bushy = ((),) * (p - 1)
        assert density(bushy) == p


def test_euler_residuals_are_inverse_densities():
    # Every elementary weight of order >= 2 vanishes for explicit Euler,
    # so the residuals are max 1/gamma: 1/2, then 1/3 (bushy tree).
    residuals = order_condition_residuals([[0.0]], [1.0], [0.0], 3)
    np.testing.assert_allclose(residuals, [0.0, 0.5, 1.0 / 3.0])


def test_observed_order_of_euler_and_missing_embedded_weights():
    euler = get_tableau("euler")
    assert observed_algebraic_order(euler, max_order=3) == 1
    with pytest.raises(ValueError, match="euler"):
        observed_algebraic_order(euler, embedded=True)


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------


def test_available_tableaus_is_sorted_and_complete():
    names = available_tableaus()
    assert names == tuple(sorted(names))
    assert set(names) == {t.name for t in ALL_TABLEAUS}
    assert len(set(names)) == len(ALL_TABLEAUS)


@by_name
def test_names_and_aliases_resolve(tableau):
    for key in (tableau.name, *tableau.aliases):
        assert get_tableau(key) is tableau
        assert get_tableau(key.upper().replace("-", "_")) is tableau


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("rk45", "dormand-prince-54"),
        ("dopri5", "dormand-prince-54"),
        ("RK4", "classical-rk4"),
        ("dop853", "dormand-prince-853"),
        ("bs3", "bogacki-shampine-32"),
        ("heun", "heun-21"),
        ("rkf45", "fehlberg-45"),
        ("rkck", "cash-karp-54"),
        ("Dormand_Prince_54", "dormand-prince-54"),
        ("  tsit5 ", "tsit5"),
    ],
)
def test_standard_aliases(alias, name):
    assert get_tableau(alias).name == name


def test_instance_is_returned_unchanged():
    custom = ButcherTableau(
        name="my-midpoint",
        a=[[0, 0], ["1/2", 0]],
        b=[0, 1],
        c=[0, "1/2"],
        order=2,
        b_hat=None,
        embedded_order=None,
        citation="test",
    )
    assert get_tableau(custom) is custom


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("dormand-prince-45", "dormand-prince-54"), ("tsit6", "tsit5"), ("vern8", "vern7")],
)
def test_unknown_name_suggests_close_matches(typo, suggestion):
    with pytest.raises(ValueError) as excinfo:
        get_tableau(typo)
    message = str(excinfo.value)
    assert repr(typo) in message
    assert suggestion in message
    assert "available_tableaus()" in message


def test_non_string_name_is_a_type_error():
    with pytest.raises(TypeError):
        get_tableau(4)


# --------------------------------------------------------------------------
# construction: conversion and validation
# --------------------------------------------------------------------------


def _make(**overrides):
    """A valid two-stage tableau (Heun with Euler embedded), overridable."""
    fields = dict(
        name="test-heun",
        a=[[0, 0], [1, 0]],
        b=["1/2", "1/2"],
        c=[0, 1],
        order=2,
        b_hat=[1, 0],
        embedded_order=1,
        citation="test",
    )
    fields.update(overrides)
    return ButcherTableau(**fields)


def test_rationals_are_converted_exactly_before_rounding():
    # 9007199254740993 = 2**53 + 1 is not a float, so dividing floats would
    # give 9007199254740992 / 3 = 3002399751580330.5 (already a float);
    # the exact quotient 3002399751580331 is what must be stored.
    t = _make(a=[[0, 0], ["9007199254740993/3", 0]], c=[0, 3002399751580331])
    assert t.a[1][0] == 3002399751580331.0
    assert t.a[1][0] != float(9007199254740993) / 3
    third = _make(a=[[0, 0], ["1/3", 0]], c=[0, Fraction(1, 3)], b=["1/3", "2/3"])
    assert third.a[1][0] == third.c[1] == third.b[0] == 1 / 3
    long_decimal = "0.33333333333333331482961625624739099293947219848632812500001"
    assert _make(b=[long_decimal, "2/3"]).b[0] == float(Fraction(long_decimal))


def test_inputs_of_mixed_types_give_floats():
    t = _make(a=np.array([[0, 0], [1, 0]]), b=(0.5, Fraction(1, 2)), c=[np.float64(0), 1])
    assert t.a == ((0.0, 0.0), (1.0, 0.0))
    assert t.b == (0.5, 0.5)
    assert all(type(x) is float for x in (*t.a[1], *t.b))


def test_single_string_alias_is_one_alias():
    assert _make(aliases="heun-test").aliases == ("heun-test",)


def test_frozen():
    t = _make()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        t.order = 3


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (dict(a=[[0, 0], ["0.9", 0]]), r"row 1 of a sums to 0\.9 but c\[1\] = 1\.0"),
        (dict(b=["1/2", "0.4"]), r"b sums to 0\.9"),
        (dict(b_hat=["0.9", 0]), r"b_hat sums to 0\.9"),
        (dict(c=[0, 1, 1]), r"c has 3 entries but b has 2"),
        (dict(a=[[0, 0], [1, 0], [0, 0]]), r"a has 3 rows"),
        (dict(a=[[0], [1, 0]]), r"row 0 of a has 1 entries, expected 2"),
        (dict(b_hat=[1, 0, 0]), r"b_hat has 3 entries"),
        (dict(b_hat=None), r"embedded_order must be given exactly when b_hat is given"),
        (dict(embedded_order=None), r"embedded_order must be given exactly when b_hat"),
        (dict(order=0), r"order must be >= 1"),
        (dict(order=2.0), r"order must be an int"),
        (dict(embedded_order=0), r"embedded_order must be an int >= 1"),
        (dict(b_hat=["1/2", "1/2"]), r"b_hat equals b"),
        (dict(b=[float("nan"), 0.5]), r"b has a non-finite entry"),
        (dict(b=[]), r"b is empty"),
        (dict(aliases=("",)), r"aliases must be non-empty strings"),
    ],
)
def test_invalid_tableau_is_rejected(overrides, pattern):
    with pytest.raises(ValueError, match=pattern) as excinfo:
        _make(**overrides)
    assert "'test-heun'" in str(excinfo.value)


def test_unreadable_coefficient_is_rejected():
    with pytest.raises(ValueError, match="cannot read 'one half'"):
        _make(b=["one half", "1/2"])


def test_consistency_tolerance_is_relative_to_coefficient_size():
    # A 1e-14 absolute row-sum error is rounding-sized next to entries of
    # magnitude 100 and accepted; 1e-9 is not.
    ok = _make(a=[[0, 0], [100, "-99.00000000000001"]])
    assert ok.c[1] == 1.0
    with pytest.raises(ValueError, match="row 1 of a"):
        _make(a=[[0, 0], [100, "-98.999999999"]])


# --------------------------------------------------------------------------
# the class also describes implicit methods
# --------------------------------------------------------------------------


def test_implicit_midpoint_is_diagonally_implicit():
    t = ButcherTableau(
        name="implicit-midpoint",
        a=[["1/2"]],
        b=[1],
        c=["1/2"],
        order=2,
        b_hat=None,
        embedded_order=None,
        citation="test",
    )
    assert t.is_diagonally_implicit
    assert not (t.is_explicit or t.is_fully_implicit or t.first_stage_explicit or t.is_fsal)
    assert observed_algebraic_order(t, max_order=3) == 2


def test_trapezoidal_rule_is_stiffly_accurate_but_not_fsal():
    t = ButcherTableau(
        name="trapezoidal",
        a=[[0, 0], ["1/2", "1/2"]],
        b=["1/2", "1/2"],
        c=[0, 1],
        order=2,
        b_hat=None,
        embedded_order=None,
        citation="test",
    )
    assert t.first_stage_explicit and t.is_stiffly_accurate and t.is_diagonally_implicit
    assert not t.is_fsal  # the last stage needs a solve, so nothing is reused for free


def test_gauss_legendre_is_fully_implicit_of_order_four():
    r = math.sqrt(3) / 6
    t = ButcherTableau(
        name="gauss-legendre-4",
        a=[[0.25, 0.25 - r], [0.25 + r, 0.25]],
        b=[0.5, 0.5],
        c=[0.5 - r, 0.5 + r],
        order=4,
        b_hat=None,
        embedded_order=None,
        citation="test",
    )
    assert t.is_fully_implicit and not t.is_diagonally_implicit and not t.is_explicit
    assert observed_algebraic_order(t, max_order=5) == 4
