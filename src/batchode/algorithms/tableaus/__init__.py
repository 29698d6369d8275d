"""Runge-Kutta and Rosenbrock tableaus and their registry.

Every method is a frozen, validated data object: a
:class:`ButcherTableau` (explicit, diagonally implicit or fully implicit
Runge-Kutta, told apart by :attr:`ButcherTableau.family`) or a
:class:`RosenbrockTableau`.  The registered methods are fixed tuples
built from the per-source modules, so importing this package never
mutates global state and the registry cannot change at run time.

* :data:`ALL_TABLEAUS` (also :data:`ERK_TABLEAUS`) - the explicit
  tableaus; :func:`available_tableaus` lists their names.  These are the
  methods the explicit engine runs, and the tuple keeps that meaning.
* :data:`DIRK_TABLEAUS`, :data:`FIRK_TABLEAUS`,
  :data:`ROSENBROCK_TABLEAUS` - the other families.
* :data:`ALL_METHODS` - all of them; :func:`available_methods` lists
  them (name, aliases, family, order, stages, whether adaptive, whether
  for stiff problems) as :class:`MethodInfo` records, optionally for one
  family; ``print()`` shows them as a table.
* :func:`get_tableau` resolves a name or alias of any family.
* :data:`FILTERED_ERROR_ESTIMATES` - RADAU5-type error estimates of fully
  implicit tableaus that have no embedded weights;
  :func:`filtered_error_estimate` finds a tableau's, and
  :func:`estimates_error` says whether a method can adapt its step.

>>> from batchode.algorithms.tableaus import get_tableau
>>> get_tableau("DOPRI5").name
'dormand-prince-54'
>>> get_tableau("RadauIIA5").family
'firk'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from batchode.algorithms.tableaus.alexander import L_STABLE_DIRK_3, SDIRK_2_2
from batchode.algorithms.tableaus.bogacki_shampine import BOGACKI_SHAMPINE_32
from batchode.algorithms.tableaus.butcher import ButcherTableau, HistoryEstimate, ResidualEstimate
from batchode.algorithms.tableaus.cash_karp import CASH_KARP_54
from batchode.algorithms.tableaus.classical import CLASSICAL_RK4, EULER, HEUN_21, RALSTON_33
from batchode.algorithms.tableaus.dormand_prince import DORMAND_PRINCE_54, DORMAND_PRINCE_853
from batchode.algorithms.tableaus.fehlberg import FEHLBERG_45
from batchode.algorithms.tableaus.gauss_legendre import GAUSS_LEGENDRE_4, GAUSS_LEGENDRE_6
from batchode.algorithms.tableaus.hairer_wanner_sdirk import L_STABLE_SDIRK_4
from batchode.algorithms.tableaus.info import FAMILY_NAMES, MethodInfo, MethodTable
from batchode.algorithms.tableaus.implicit_classical import (
    BACKWARDS_EULER,
    CRANK_NICOLSON,
    IMPLICIT_MIDPOINT,
    TRAPEZOIDAL_DIRK,
)
from batchode.algorithms.tableaus.kvaerno import KVAERNO3, KVAERNO5
from batchode.algorithms.tableaus.lang_verwer import ROS3P
from batchode.algorithms.tableaus.radau import (
    RADAU_IIA_3,
    RADAU_IIA_5,
    RADAU_IIA_5_ERROR_ESTIMATE,
    FilteredErrorEstimate,
)
from batchode.algorithms.tableaus.rodas_hairer_wanner import RODAS4
from batchode.algorithms.tableaus.rodas_steinebach import RODAS3P, RODAS5P
from batchode.algorithms.tableaus.rosenbrock import RosenbrockTableau
from batchode.algorithms.tableaus.shampine_reichelt import ROSENBROCK23
from batchode.algorithms.tableaus.tsitouras import TSIT5
from batchode.algorithms.tableaus.verner import VERN7

__all__ = [
    "ALL_METHODS",
    "ALL_TABLEAUS",
    "DIRK_TABLEAUS",
    "ERK_TABLEAUS",
    "FAMILIES",
    "FAMILY_NAMES",
    "FILTERED_ERROR_ESTIMATES",
    "FIRK_TABLEAUS",
    "ROSENBROCK_TABLEAUS",
    "ButcherTableau",
    "FilteredErrorEstimate",
    "HistoryEstimate",
    "Method",
    "MethodInfo",
    "MethodTable",
    "ResidualEstimate",
    "RosenbrockTableau",
    "available_methods",
    "available_tableaus",
    "estimates_error",
    "filtered_error_estimate",
    "get_tableau",
]

#: A registered method of any family.
Method = ButcherTableau | RosenbrockTableau

#: The method families, in registry order (the values of ``.family``).
FAMILIES: tuple[str, ...] = ("erk", "dirk", "firk", "rosenbrock")

#: Every registered explicit tableau (the explicit engine's methods).
ALL_TABLEAUS: tuple[ButcherTableau, ...] = (
    EULER,
    HEUN_21,
    RALSTON_33,
    CLASSICAL_RK4,
    BOGACKI_SHAMPINE_32,
    DORMAND_PRINCE_54,
    DORMAND_PRINCE_853,
    CASH_KARP_54,
    FEHLBERG_45,
    TSIT5,
    VERN7,
)

#: The explicit tableaus (the same tuple as :data:`ALL_TABLEAUS`).
ERK_TABLEAUS: tuple[ButcherTableau, ...] = ALL_TABLEAUS

#: Diagonally implicit tableaus (SDIRK, ESDIRK and one-stage methods).
DIRK_TABLEAUS: tuple[ButcherTableau, ...] = (
    BACKWARDS_EULER,
    IMPLICIT_MIDPOINT,
    CRANK_NICOLSON,
    TRAPEZOIDAL_DIRK,
    SDIRK_2_2,
    L_STABLE_DIRK_3,
    L_STABLE_SDIRK_4,
    KVAERNO3,
    KVAERNO5,
)

#: Fully implicit (collocation) tableaus.
FIRK_TABLEAUS: tuple[ButcherTableau, ...] = (
    RADAU_IIA_3,
    RADAU_IIA_5,
    GAUSS_LEGENDRE_4,
    GAUSS_LEGENDRE_6,
)

#: Rosenbrock(-W) tableaus.
ROSENBROCK_TABLEAUS: tuple[RosenbrockTableau, ...] = (
    ROSENBROCK23,
    ROS3P,
    RODAS3P,
    RODAS4,
    RODAS5P,
)

#: Error estimates of fully implicit tableaus without embedded weights.
FILTERED_ERROR_ESTIMATES: tuple[FilteredErrorEstimate, ...] = (RADAU_IIA_5_ERROR_ESTIMATE,)

#: Every registered method, all families.
ALL_METHODS: tuple[Method, ...] = (
    ERK_TABLEAUS + DIRK_TABLEAUS + FIRK_TABLEAUS + ROSENBROCK_TABLEAUS
)


def _normalise(name: str) -> str:
    """Lookup key: case-insensitive, with ``_`` and ``-`` treated alike."""
    return name.strip().lower().replace("_", "-")


def _build_index(tableaus: tuple[Method, ...]) -> Mapping[str, Method]:
    index: dict[str, Method] = {}
    for tableau in tableaus:
        for key in map(_normalise, (tableau.name, *tableau.aliases)):
            if key in index and index[key] is not tableau:
                # A programming error in the data modules: fail at import.
                raise RuntimeError(
                    f"tableau name or alias {key!r} is claimed by both "
                    f"{index[key].name!r} and {tableau.name!r}"
                )
            index[key] = tableau
    return MappingProxyType(index)


_INDEX = _build_index(ALL_METHODS)


def available_tableaus() -> tuple[str, ...]:
    """Canonical names of the registered explicit tableaus, sorted.

    Returns
    -------
    tuple of str
        The names in :data:`ALL_TABLEAUS`; see :func:`available_methods`
        for the implicit and Rosenbrock families.
    """
    return tuple(sorted(t.name for t in ALL_TABLEAUS))


def available_methods(family: str | None = None) -> MethodTable:
    """The registered methods, sorted by canonical name.

    Parameters
    ----------
    family : str, optional
        One of :data:`FAMILIES` (``"erk"``: explicit, ``"dirk"``:
        diagonally implicit, ``"firk"``: fully implicit,
        ``"rosenbrock"``) to list only that family; all by default.

    Returns
    -------
    MethodTable
        A tuple of :class:`MethodInfo` records (name, aliases, family,
        order, stages, ``adaptive``: has an error estimate, ``stiff``:
        suits stiff problems); ``str()`` of it is a table and ``.names``
        the canonical names.

    Raises
    ------
    ValueError
        If ``family`` is not one of :data:`FAMILIES`.

    Examples
    --------
    >>> from batchode.algorithms.tableaus import available_methods
    >>> info = available_methods("rosenbrock")[0]
    >>> info.name, info.family_name, info.order, info.adaptive, info.stiff
    ('rodas3p', 'rosenbrock', 3, True, True)
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown method family {family!r}; expected one of {FAMILIES}")
    chosen = sorted((t for t in ALL_METHODS if family in (None, t.family)), key=lambda t: t.name)
    return MethodTable(MethodInfo.of(t, estimates_error(t)) for t in chosen)


def get_tableau(name_or_tableau: str | Method) -> Method:
    """Look up a method of any family by name or alias.

    Parameters
    ----------
    name_or_tableau : str, ButcherTableau or RosenbrockTableau
        A registered name or alias, matched case-insensitively with
        ``_`` and ``-`` treated alike (``"Dormand_Prince_54"``,
        ``"dopri5"``, ``"radau-iia-5"``); a tableau object is returned
        unchanged, so user-defined tableaus need no registration.

    Returns
    -------
    ButcherTableau or RosenbrockTableau
        Use ``.family`` to tell the kinds apart.

    Raises
    ------
    ValueError
        If the name is unknown; the message suggests close matches.
    TypeError
        If the argument is neither a string nor a tableau.
    """
    if isinstance(name_or_tableau, (ButcherTableau, RosenbrockTableau)):
        return name_or_tableau
    if not isinstance(name_or_tableau, str):
        raise TypeError(
            "expected a method name, a ButcherTableau or a RosenbrockTableau, "
            f"got {type(name_or_tableau).__name__}"
        )
    key = _normalise(name_or_tableau)
    if key in _INDEX:
        return _INDEX[key]
    suggestions = [
        match if _INDEX[match].name == match else f"{match} (alias of {_INDEX[match].name})"
        for match in difflib.get_close_matches(key, list(_INDEX), n=3, cutoff=0.6)
    ]
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    raise ValueError(
        f"unknown method or tableau {name_or_tableau!r}.{hint} "
        "See batchode.algorithms.tableaus.available_methods() for all names "
        "(available_tableaus() for the explicit ones)."
    )


def filtered_error_estimate(tableau: Method) -> FilteredErrorEstimate | None:
    """The RADAU5-type error estimate of ``tableau`` (matched by value), or None."""
    for estimate in FILTERED_ERROR_ESTIMATES:
        if estimate.tableau == tableau:
            return estimate
    return None


def estimates_error(tableau: Method) -> bool:
    """True if ``tableau`` has an error estimate (embedded weights, a residual, history or filtered one).

    Methods without one can only take fixed steps.
    """
    return tableau.has_error_estimate or filtered_error_estimate(tableau) is not None
