"""Explicit Runge-Kutta Butcher tableaus and their registry.

Every tableau is a frozen, validated :class:`ButcherTableau`; the set of
registered methods is the fixed tuple :data:`ALL_TABLEAUS` built from
the per-source modules, so importing this package never mutates global
state and the registry cannot change at run time.

>>> from batchode.algorithms.tableaus import get_tableau
>>> get_tableau("DOPRI5").name
'dormand-prince-54'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from batchode.algorithms.tableaus.bogacki_shampine import BOGACKI_SHAMPINE_32
from batchode.algorithms.tableaus.butcher import ButcherTableau
from batchode.algorithms.tableaus.cash_karp import CASH_KARP_54
from batchode.algorithms.tableaus.classical import CLASSICAL_RK4, EULER, HEUN_21, RALSTON_33
from batchode.algorithms.tableaus.dormand_prince import DORMAND_PRINCE_54, DORMAND_PRINCE_853
from batchode.algorithms.tableaus.fehlberg import FEHLBERG_45
from batchode.algorithms.tableaus.tsitouras import TSIT5
from batchode.algorithms.tableaus.verner import VERN7

__all__ = [
    "ALL_TABLEAUS",
    "ButcherTableau",
    "available_tableaus",
    "get_tableau",
]

#: Every registered tableau.
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


def _normalise(name: str) -> str:
    """Lookup key: case-insensitive, with ``_`` and ``-`` treated alike."""
    return name.strip().lower().replace("_", "-")


def _build_index(tableaus: tuple[ButcherTableau, ...]) -> Mapping[str, ButcherTableau]:
    index: dict[str, ButcherTableau] = {}
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


_INDEX = _build_index(ALL_TABLEAUS)


def available_tableaus() -> tuple[str, ...]:
    """Canonical names of all registered tableaus, sorted.

    Returns
    -------
    tuple of str
    """
    return tuple(sorted(t.name for t in ALL_TABLEAUS))


def get_tableau(name_or_tableau: str | ButcherTableau) -> ButcherTableau:
    """Look up a tableau by name or alias.

    Parameters
    ----------
    name_or_tableau : str or ButcherTableau
        A registered name or alias, matched case-insensitively with
        ``_`` and ``-`` treated alike (``"Dormand_Prince_54"``,
        ``"dopri5"``); a :class:`ButcherTableau` is returned unchanged,
        so user-defined tableaus need no registration.

    Returns
    -------
    ButcherTableau

    Raises
    ------
    ValueError
        If the name is unknown; the message suggests close matches.
    TypeError
        If the argument is neither a string nor a tableau.
    """
    if isinstance(name_or_tableau, ButcherTableau):
        return name_or_tableau
    if not isinstance(name_or_tableau, str):
        raise TypeError(
            f"expected a tableau name or a ButcherTableau, got {type(name_or_tableau).__name__}"
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
        f"unknown Butcher tableau {name_or_tableau!r}.{hint} "
        "See batchode.algorithms.tableaus.available_tableaus() for all names."
    )
