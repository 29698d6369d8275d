"""Reading tableau coefficients, and the tolerance of the consistency checks.

Coefficients may be given as floats, ints, :class:`fractions.Fraction`
or strings (``"1/5"``, ``"-0.848e-2"``, long decimal expansions).  Every
value is first converted *exactly* to a :class:`~fractions.Fraction` and
only then rounded once to the nearest float64, so a rational coefficient
such as ``"35/384"`` is stored correctly rounded, and a 40-digit decimal
expansion is not double-rounded through an intermediate float.

Every data class of the tableau package (Butcher and Rosenbrock
tableaus, dense output) reads its coefficients with these converters
and checks its consistency with :func:`_close`, so all of them accept
the same inputs and share one tolerance.
"""

from __future__ import annotations

import numbers
from fractions import Fraction
from typing import Any

__all__ = ["CONSISTENCY_RTOL"]

# Relative tolerance for the consistency checks (row sums of ``a`` equal
# ``c``, weights sum to one, a dense output ends on the step's solution).  Each check compares a sum of float64
# coefficients with a target, so the tolerance is scaled by the sum of
# the magnitudes of the terms involved (at least 1).  Exact rationals
# rounded to float64 pass at ~1e-16; coefficients published as
# 16-17 significant decimal digits (Tsitouras' Tsit5, with entries up to
# ~13 in magnitude) leave residuals of a few 1e-16 relative to that
# scale.  1e-12 leaves ample room for such data while still rejecting
# any mistyped coefficient except one wrong only in its last few digits,
# which only the order-condition tests can catch.
CONSISTENCY_RTOL = 1e-12


def _to_float(value: Any) -> float:
    """Convert one coefficient to float64 through an exact Fraction."""
    if isinstance(value, str):
        try:
            exact = Fraction(value.strip())
        except (ValueError, ZeroDivisionError) as err:
            raise ValueError(f"cannot read {value!r} as a real number") from err
    elif isinstance(value, numbers.Rational):
        exact = Fraction(value.numerator, value.denominator)
    elif isinstance(value, numbers.Real):
        # A float is already a float64: no exact form is gained by
        # converting it, and NaN/inf are reported by the validation.
        return float(value)
    else:
        raise ValueError(f"cannot read {value!r} as a real number")
    # Fraction.__float__ divides two Python ints, which is correctly rounded.
    return float(exact)


def _to_vector(values: Any) -> tuple[float, ...]:
    return tuple(_to_float(v) for v in values)


def _to_optional_vector(values: Any) -> tuple[float, ...] | None:
    return None if values is None else _to_vector(values)


def _to_matrix(rows: Any) -> tuple[tuple[float, ...], ...]:
    return tuple(_to_vector(row) for row in rows)


def _close(value: float, target: float, scale: float) -> bool:
    return abs(value - target) <= CONSISTENCY_RTOL * max(1.0, scale)
