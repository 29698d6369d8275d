"""The registry across families: names, aliases, families and the Julia method list."""

import csv
from pathlib import Path

import pytest

from batchode.algorithms.tableaus import (
    ALL_METHODS,
    ALL_TABLEAUS,
    DIRK_TABLEAUS,
    ERK_TABLEAUS,
    FAMILIES,
    FIRK_TABLEAUS,
    ROSENBROCK_TABLEAUS,
    ButcherTableau,
    RosenbrockTableau,
    available_methods,
    available_tableaus,
    get_tableau,
)

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "lorenz_julia"
METHODS_CSV = REFERENCE / "methods.csv"


def _julia_rows():
    if not METHODS_CSV.exists():
        pytest.skip(f"reference method list not found at {METHODS_CSV}")
    with open(METHODS_CSV) as handle:
        return list(csv.DictReader(handle))


def test_every_reference_method_resolves_with_its_order_and_family():
    rows = _julia_rows()
    assert rows
    for row in rows:
        method = get_tableau(row["method"])
        # Listed names are canonical names or aliases, so results can be
        # keyed on them (rosenbrock23_sciml is an alias of rosenbrock23).
        assert row["method"] in (method.name, *method.aliases), row
        assert method.order == int(row["order"]), row
        # The list's "implicit" entries are a one-stage and a two-stage DIRK.
        expected_family = {"implicit": "dirk"}.get(row["family"], row["family"])
        assert method.family == expected_family, row


def test_families_partition_the_registry():
    assert ALL_METHODS == ERK_TABLEAUS + DIRK_TABLEAUS + FIRK_TABLEAUS + ROSENBROCK_TABLEAUS
    groups = (ERK_TABLEAUS, DIRK_TABLEAUS, FIRK_TABLEAUS, ROSENBROCK_TABLEAUS)
    for family, group in zip(FAMILIES, groups):
        assert {t.family for t in group} == {family}
        assert available_methods(family) == tuple(sorted(t.name for t in group))
    assert all(isinstance(t, RosenbrockTableau) for t in ROSENBROCK_TABLEAUS)
    assert all(isinstance(t, ButcherTableau) for t in ERK_TABLEAUS + DIRK_TABLEAUS + FIRK_TABLEAUS)


def test_available_methods_is_sorted_and_complete():
    names = available_methods()
    assert names == tuple(sorted(names))
    assert set(names) == {t.name for t in ALL_METHODS}
    assert len(set(names)) == len(ALL_METHODS)


def test_explicit_registry_keeps_its_meaning():
    # ALL_TABLEAUS / available_tableaus() stay the explicit methods: the
    # explicit engine and its tests iterate over them.
    assert ERK_TABLEAUS is ALL_TABLEAUS
    assert all(t.is_explicit for t in ALL_TABLEAUS)
    assert available_tableaus() == available_methods("erk")


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError, match="unknown method family 'sdirk'"):
        available_methods("sdirk")


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda t: t.name)
def test_names_and_aliases_resolve(method):
    for key in (method.name, *method.aliases):
        assert get_tableau(key) is method
        assert get_tableau(key.upper().replace("_", "-")) is method
        assert get_tableau(key.lower().replace("-", "_")) is method


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("ImplicitEuler", "backwards_euler"),
        ("backward-euler", "backwards_euler"),
        ("trapezoid", "trapezoidal_dirk"),
        ("Hairer4", "l_stable_sdirk_4"),
        ("RadauIIA5", "radau_iia_5"),
        ("radau-iia-3", "radau_iia_3"),
        ("Kvaerno5", "kvaerno5"),
        ("ROS3P", "ros3p"),
        ("Rodas5P", "rodas5p"),
        ("rosenbrock23_sciml", "rosenbrock23"),
        ("ode23s", "rosenbrock23"),
        ("gauss_legendre_2", "implicit_midpoint"),
    ],
)
def test_standard_aliases(alias, name):
    assert get_tableau(alias).name == name


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("radau_iia_7", "radau_iia_5"),
        ("kvaerno4", "kvaerno"),
        ("rodas5", "rodas5p"),
        ("ros3", "ros3p"),
        ("gauss_legendre_8", "gauss_legendre_"),
        ("backward_eular", "backward"),
        ("rosenbrok23", "rosenbrock23"),
    ],
)
def test_unknown_name_suggests_close_matches(typo, suggestion):
    with pytest.raises(ValueError) as excinfo:
        get_tableau(typo)
    message = str(excinfo.value)
    assert repr(typo) in message
    assert suggestion in message
    assert "available_methods()" in message


def test_tableau_objects_are_returned_unchanged():
    for method in (get_tableau("rodas4"), get_tableau("radau_iia_5")):
        assert get_tableau(method) is method
    with pytest.raises(TypeError, match="RosenbrockTableau"):
        get_tableau(None)
