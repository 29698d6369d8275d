"""Checks of single setting values: each returns the value in its checked form or raises naming the setting.

Every check runs before anything is built or compiled, and its message
names the setting, the value given and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

#: The working precisions, by name.
PRECISIONS = {"float32": np.float32, "float64": np.float64}


def real(*, positive: bool = True, allow_inf: bool = False, signed: bool = False):
    """A check for a real number: positive (> 0), non-negative, or any finite value when ``signed``."""
    if signed:
        expected = "a finite number"
    else:
        expected = "a positive number (> 0)" if positive else "a non-negative number (>= 0)"

    def check(name: str, value) -> float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
        value = float(value)
        bad = math.isnan(value) or (math.isinf(value) and not allow_inf)
        if not signed:
            bad = bad or value < 0 or (positive and value == 0)
        if bad:
            raise ValueError(f"{name} must be {expected}{' (inf allowed)' if allow_inf else ''}, got {value!r}")
        return value

    return check


def count(minimum: int = 1):
    """A check for an integer of at least ``minimum``; a float, bool or string is refused, not rounded."""

    def check(name: str, value) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
        if value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        return int(value)

    return check


def flag(name: str, value) -> bool:
    """A check for True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def choice(*names):
    """A check for one of ``names`` (strings matched case-insensitively; None only if listed)."""
    listed = ", ".join(repr(name) for name in names)

    def check(name: str, value):
        key = value.strip().lower() if isinstance(value, str) else value
        if key not in names:
            raise ValueError(f"{name} must be one of {listed}, got {value!r}")
        return key

    return check


def precision(name: str, value) -> np.dtype:
    """A check for a working precision: ``"float32"`` or ``"float64"`` (or their numpy types)."""
    expected = f"{name} must be 'float32' or 'float64', got {value!r}"
    if value is None:
        raise TypeError(expected)
    try:
        key = value.lower() if isinstance(value, str) else np.dtype(value).name
    except TypeError:
        raise TypeError(expected) from None
    if key not in PRECISIONS:
        raise ValueError(expected)
    return np.dtype(PRECISIONS[key])


def names_sequence(name: str, value) -> tuple:
    """A check for a sequence of names (one name alone is a sequence of one)."""
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(value or ())
    except TypeError:
        raise TypeError(f"{name} must be a name or a sequence of names, got {value!r}") from None


def optional_names(name: str, value):
    """None, or a check with :func:`names_sequence`."""
    return None if value is None else names_sequence(name, value)


def locations(name: str, value) -> dict:
    """A check for ``{buffer path: location}`` (the paths and locations are checked against the tree)."""
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise TypeError(f"{name} must be a dict of buffer path -> location, e.g. "
                        f"{{'algorithm.newton.linear.basis': 'shared'}}, got {value!r}")
    return dict(value)


def anything(name: str, value):
    """No check here: the value is checked where it is used (a method, events, a controller name)."""
    return value
