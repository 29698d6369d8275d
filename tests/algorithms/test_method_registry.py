"""The registry across families: names, aliases, families and the Julia method list."""

import csv
import re
from pathlib import Path

import pytest

import batchode
from batchode.algorithms.tableaus import (
    ALL_METHODS,
    ALL_TABLEAUS,
    DIRK_TABLEAUS,
    ERK_TABLEAUS,
    FAMILIES,
    FIRK_TABLEAUS,
    ROSENBROCK_TABLEAUS,
    ButcherTableau,
    MethodInfo,
    RosenbrockTableau,
    available_methods,
    available_tableaus,
    estimates_error,
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
        # Listed names are canonical names or aliases (spelt with _ or -, which
        # names match alike), so results can be keyed on them
        # (rosenbrock23_sciml is an alias of rosenbrock23).
        spellings = {name.replace("_", "-") for name in (method.name, *method.aliases)}
        assert row["method"].replace("_", "-") in spellings, row
        assert method.order == int(row["order"]), row
        # The list's "implicit" entries are a one-stage and a two-stage DIRK.
        expected_family = {"implicit": "dirk"}.get(row["family"], row["family"])
        assert method.family == expected_family, row


def test_families_partition_the_registry():
    assert ALL_METHODS == ERK_TABLEAUS + DIRK_TABLEAUS + FIRK_TABLEAUS + ROSENBROCK_TABLEAUS
    groups = (ERK_TABLEAUS, DIRK_TABLEAUS, FIRK_TABLEAUS, ROSENBROCK_TABLEAUS)
    for family, group in zip(FAMILIES, groups):
        assert {t.family for t in group} == {family}
        assert available_methods(family).names == tuple(sorted(t.name for t in group))
    assert all(isinstance(t, RosenbrockTableau) for t in ROSENBROCK_TABLEAUS)
    assert all(isinstance(t, ButcherTableau) for t in ERK_TABLEAUS + DIRK_TABLEAUS + FIRK_TABLEAUS)


def test_available_methods_is_sorted_and_complete():
    names = available_methods().names
    assert names == tuple(sorted(names))
    assert set(names) == {t.name for t in ALL_METHODS}
    assert len(set(names)) == len(ALL_METHODS)


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda t: t.name)
def test_each_record_describes_its_registered_method(method):
    [info] = [info for info in batchode.available_methods() if info.name == method.name]
    assert info == MethodInfo(name=method.name, aliases=method.aliases, family=method.family, order=method.order,
                              stages=method.stages, adaptive=estimates_error(method),
                              stiff=method.family in ("dirk", "firk", "rosenbrock"))
    assert info.family_name == {"erk": "explicit", "dirk": "diagonally implicit", "firk": "fully implicit",
                                "rosenbrock": "rosenbrock"}[method.family]
    assert get_tableau(info.name) is method
    assert all(get_tableau(alias) is method for alias in info.aliases)


def test_what_the_records_say_about_well_known_methods():
    records = {info.name: info for info in batchode.available_methods()}
    assert (records["tsit5"].adaptive, records["tsit5"].stiff, records["tsit5"].order) == (True, False, 5)
    assert (records["euler"].adaptive, records["euler"].stiff) == (False, False)
    assert (records["radau-iia-5"].adaptive, records["radau-iia-5"].stiff) == (True, True)
    assert (records["gauss-legendre-4"].adaptive, records["gauss-legendre-4"].stiff) == (False, True)
    assert records["rodas4"].family_name == "rosenbrock" and "dopri5" in records["dormand-prince-54"].aliases


def test_the_table_has_a_line_per_method():
    table = batchode.available_methods()
    lines = str(table).splitlines()
    assert lines[0].split() == ["method", "family", "order", "stages", "adaptive", "stiff", "aliases"]
    assert len(lines) == 1 + len(ALL_METHODS)
    assert lines[1 + table.names.index("kvaerno5")].split()[:7] == [
        "kvaerno5", "diagonally", "implicit", "5", "7", "yes", "yes"]


def test_explicit_registry_keeps_its_meaning():
    # ALL_TABLEAUS / available_tableaus() stay the explicit methods: the
    # explicit engine and its tests iterate over them.
    assert ERK_TABLEAUS is ALL_TABLEAUS
    assert all(t.is_explicit for t in ALL_TABLEAUS)
    assert available_tableaus() == available_methods("erk").names


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
        ("ImplicitEuler", "backwards-euler"),
        ("backward-euler", "backwards-euler"),
        ("trapezoid", "trapezoidal-dirk"),
        ("Hairer4", "l-stable-sdirk-4"),
        ("RadauIIA5", "radau-iia-5"),
        ("radau-iia-3", "radau-iia-3"),
        ("Kvaerno5", "kvaerno5"),
        ("ROS3P", "ros3p"),
        ("Rodas5P", "rodas5p"),
        ("rosenbrock23_sciml", "rosenbrock23"),
        ("ode23s", "rosenbrock23"),
        ("gauss_legendre_2", "implicit-midpoint"),
        # the snake-case spellings of the canonical names (their names before kebab-case)
        ("radau_iia_5", "radau-iia-5"),
        ("backwards_euler", "backwards-euler"),
        ("l_stable_sdirk_4", "l-stable-sdirk-4"),
    ],
)
def test_standard_aliases(alias, name):
    assert get_tableau(alias).name == name


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("radau_iia_7", "radau-iia-5"),
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
    for method in (get_tableau("rodas4"), get_tableau("radau-iia-5")):
        assert get_tableau(method) is method
    with pytest.raises(TypeError, match="RosenbrockTableau"):
        get_tableau(None)


def test_canonical_names_are_kebab_case():
    names = batchode.available_methods().names
    assert names and all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names), names
