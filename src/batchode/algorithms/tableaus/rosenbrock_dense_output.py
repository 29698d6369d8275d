"""The :class:`RosenbrockDenseOutput` data class: a RODAS-type interpolant.

RODAS-type Rosenbrock methods (Hairer and Wanner's ``rodas.f``,
Steinebach's Rodas5P) evaluate the solution inside an accepted step from
``(t, y0)`` to ``(t + h, y1)`` from the stage increments ``u_i`` of the
transformed form (HW II, Section IV.7, eqs. (7.25)-(7.26); the increments
the Rosenbrock engine stores, see :mod:`batchode.algorithms.rosenbrock`)::

    u(t + theta h) = (1 - theta) y0
                     + theta (y1 + (1 - theta) sum_j theta**j sum_i H[j][i] u_i)

with ``j = 0 .. terms - 1``: ``rodas.f`` and DifferentialEquations.jl's
``Rodas4`` use two rows of ``H`` (``d21..d25`` and ``d31..d35`` in the
code, ``h21..`` and ``h31..`` in Julia), ``Rodas5P`` three.  The form
starts at ``y0`` and ends at ``y1`` whatever ``H`` is.

The interpolant has order ``p*`` when it is ``O(h**(p* + 1))``-close to
the exact solution for every ``theta``; written as
``u = y0 + sum_i b_i(theta) k_i`` in the standard-form stage values
``k = Gamma^-1 u``, with ``b(theta) = (theta m + theta (1 - theta)
sum_j theta**j H[j]) Gamma``, that means the Rosenbrock order conditions
of :mod:`~batchode.algorithms.tableaus.order_conditions` with
``1/gamma(t)`` replaced by ``theta**|t| / gamma(t)``, for every tree
with at most ``p*`` vertices.  The tests check that; construction checks
shapes, finiteness and the order's range, and
:class:`~batchode.algorithms.tableaus.rosenbrock.RosenbrockTableau`
checks that an attached interpolant fits its method.

Coefficients are read like those of the tableaus (see
:mod:`~batchode.algorithms.tableaus.coefficients`).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import ArrayLike

from batchode.algorithms.tableaus.coefficients import _to_matrix

__all__ = ["RosenbrockDenseOutput"]


@attrs.frozen
class RosenbrockDenseOutput:
    """The correction coefficients ``H`` of a RODAS-type interpolant.

    Parameters
    ----------
    coefficients : sequence of sequences
        ``terms x stages`` matrix ``H``: row ``j`` holds the weights of the
        stage increments ``u_i`` in the term multiplied by ``theta**j``,
        in the layout the sources print (one row per ``h``/``d`` vector).
        Read like tableau coefficients.
    order : int
        Order ``p*`` of the interpolant (at most the method's order).
    citation : str
        Where the coefficients come from.

    Raises
    ------
    ValueError
        If the matrix is empty or ragged, has a non-finite entry, or the
        order is not an int between 1 and ``terms + 1``.

    Notes
    -----
    ``u(t + theta h)`` is a polynomial of degree ``terms + 1`` in
    ``theta``, and one of degree below ``p*`` cannot match the exact
    solution to order ``p*``, hence ``order <= terms + 1``.
    """

    coefficients: tuple[tuple[float, ...], ...] = attrs.field(converter=_to_matrix)
    order: int
    citation: str

    def __attrs_post_init__(self) -> None:
        rows = self.coefficients
        if not rows or not rows[0]:
            raise ValueError("Rosenbrock dense output: coefficients is empty; give one row of stage weights "
                             "per power of theta")
        for j, row in enumerate(rows):
            if len(row) != len(rows[0]):
                raise ValueError(f"Rosenbrock dense output: row {j} of coefficients has {len(row)} entries but "
                                 f"row 0 has {len(rows[0])} (one per stage)")
            for i, value in enumerate(row):
                if not math.isfinite(value):
                    raise ValueError(f"Rosenbrock dense output: weight of u_{i} in the theta**{j} term is "
                                     f"{value!r}, not finite")
        top = self.terms + 1
        if isinstance(self.order, bool) or not isinstance(self.order, int) or not 1 <= self.order <= top:
            raise ValueError(f"Rosenbrock dense output: order must be an int from 1 to terms + 1 = {top}, "
                             f"got {self.order!r}")

    @property
    def terms(self) -> int:
        """Number of rows of :attr:`coefficients` (powers ``theta**0 ..``)."""
        return len(self.coefficients)

    @property
    def stages(self) -> int:
        """Number of stages (columns of :attr:`coefficients`)."""
        return len(self.coefficients[0])

    def weights(self, theta: ArrayLike) -> np.ndarray:
        """The weights ``sum_j theta**j H[j]`` of the correction term, in float64.

        Parameters
        ----------
        theta : float or array_like
            Fraction(s) of the step.

        Returns
        -------
        numpy.ndarray
            Shape ``np.shape(theta) + (stages,)``: ``w`` such that
            ``u(t + theta h) = (1 - theta) y0 + theta (y1 + (1 - theta) w . u)``.
        """
        theta = np.asarray(theta, dtype=np.float64)
        powers = theta[..., np.newaxis] ** np.arange(self.terms)
        return powers @ np.asarray(self.coefficients, dtype=np.float64)
