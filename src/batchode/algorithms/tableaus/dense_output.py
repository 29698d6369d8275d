"""The :class:`DenseOutput` data class: a Runge-Kutta method's own interpolant.

A continuous extension of a Runge-Kutta method evaluates the solution
anywhere inside an accepted step from ``(t, y)`` to ``(t + h, y_new)``
using only the stage derivatives ``k_i`` the step has already computed::

    u(t + theta h) = y + h * sum_i b_i(theta) k_i,     0 <= theta <= 1,

    b_i(theta) = sum_{m=1..degree} coefficients[i][m-1] * theta**m.

The weights have no constant term, so ``u`` starts at ``y``.  Saving
through the interpolant instead of stepping to each save time means the
steps taken never depend on what is saved.

The interpolant has order ``p*`` when ``u(t + theta h)`` differs from the
exact solution through ``(t, y)`` by ``O(h**(p* + 1))`` uniformly in
``theta``; equivalently (E. Hairer, S. P. Norsett, G. Wanner, *Solving
Ordinary Differential Equations I*, 2nd ed., Springer, 1993, Section
II.6) every rooted tree ``t`` with ``|t| <= p*`` vertices
satisfies the continuous order condition

    sum_i b_i(theta) g_i(t) = theta**|t| / gamma(t)

for all ``theta``, with the stage vectors ``g(t)`` and densities
``gamma(t)`` of :mod:`~batchode.algorithms.tableaus.order_conditions`.
That is checked by the tests, not here: construction checks only what is
cheap and exact (shapes, finiteness, orders), and
:class:`~batchode.algorithms.tableaus.butcher.ButcherTableau` checks that
an attached interpolant fits its method (one row per stage, ends on the
step's solution, consistent).

Coefficients are read like those of the tableaus (strings, fractions
and ints exactly, then rounded once; see
:mod:`~batchode.algorithms.tableaus.coefficients`).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import ArrayLike

from batchode.algorithms.tableaus.coefficients import _to_matrix

__all__ = ["DenseOutput"]


@attrs.frozen
class DenseOutput:
    """The polynomial weights of a Runge-Kutta method's continuous extension.

    Parameters
    ----------
    coefficients : sequence of sequences
        ``stages x degree`` matrix: row ``i`` holds the coefficients of
        ``theta, theta**2, ..., theta**degree`` in ``b_i(theta)`` (no
        constant term).  Read like tableau coefficients.
    order : int
        Order ``p*`` of the interpolant (at most the method's order, and at
        most ``degree``).
    citation : str
        Where the interpolant comes from.

    Raises
    ------
    ValueError
        If the matrix is empty or ragged, has a non-finite entry, or the
        order is not an int between 1 and the degree.

    Notes
    -----
    A polynomial of degree below ``p*`` cannot meet the condition
    ``sum_i b_i(theta) c_i**(p*-1) = theta**p* / p*`` of the bushy tree,
    hence ``order <= degree``.
    """

    coefficients: tuple[tuple[float, ...], ...] = attrs.field(converter=_to_matrix)
    order: int
    citation: str

    def __attrs_post_init__(self) -> None:
        rows = self.coefficients
        if not rows or not rows[0]:
            raise ValueError("dense output: coefficients is empty; give one row of theta-power coefficients per stage")
        for i, row in enumerate(rows):
            if len(row) != len(rows[0]):
                raise ValueError(f"dense output: row {i} of coefficients has {len(row)} entries but row 0 has "
                                 f"{len(rows[0])} (one per power theta**1..theta**degree)")
            for m, value in enumerate(row, start=1):
                if not math.isfinite(value):
                    raise ValueError(f"dense output: coefficient of theta**{m} in b_{i}(theta) is {value!r}, "
                                     "not finite")
        if isinstance(self.order, bool) or not isinstance(self.order, int) or not 1 <= self.order <= self.degree:
            raise ValueError(f"dense output: order must be an int from 1 to the degree {self.degree}, "
                             f"got {self.order!r}")

    @property
    def stages(self) -> int:
        """Number of stages (rows of :attr:`coefficients`)."""
        return len(self.coefficients)

    @property
    def degree(self) -> int:
        """Degree of the weight polynomials (columns of :attr:`coefficients`)."""
        return len(self.coefficients[0])

    def weights(self, theta: ArrayLike) -> np.ndarray:
        """The weights ``b_i(theta)``, in float64.

        Parameters
        ----------
        theta : float or array_like
            Fraction(s) of the step; the polynomials are defined for any
            real value, and the interpolant is meant for ``[0, 1]``.

        Returns
        -------
        numpy.ndarray
            Shape ``np.shape(theta) + (stages,)``: for a scalar ``theta``
            the vector ``b(theta)``, for an array one vector per entry.
        """
        theta = np.asarray(theta, dtype=np.float64)
        powers = theta[..., np.newaxis] ** np.arange(1, self.degree + 1)
        return powers @ np.asarray(self.coefficients, dtype=np.float64).T
