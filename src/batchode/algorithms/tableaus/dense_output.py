"""The :class:`DenseOutput` data class: a Runge-Kutta method's own interpolant.

A continuous extension of a Runge-Kutta method evaluates the solution
anywhere inside an accepted step from ``(t, y)`` to ``(t + h, y_new)``
from the stage derivatives ``k_i`` of the step::

    u(t + theta h) = y + h * sum_i b_i(theta) k_i,     0 <= theta <= 1,

    b_i(theta) = sum_{m=1..degree} coefficients[i][m-1] * theta**m.

The weights have no constant term, so ``u`` starts at ``y``.  Saving
through the interpolant instead of stepping to each save time means the
steps taken never depend on what is saved.

The sum runs over the method's ``s`` stages and, for an interpolant of
high order, over ``E`` extra stages that only the interpolant needs
(DOP853's and Verner's interpolants do), evaluated after an accepted step
and only when something is saved inside it.  Extra stage ``r`` (0-based)
is an explicit stage over every earlier one::

    k_{s+r} = f(t + extra_c[r] h, y + h * sum_{j < s+r} extra_a[r][j] k_j),

so the method plus its extra stages form one explicit tableau of
``s + E`` stages, and ``coefficients`` has one row per stage of it.

The interpolant has order ``p*`` when ``u(t + theta h)`` differs from the
exact solution through ``(t, y)`` by ``O(h**(p* + 1))`` uniformly in
``theta``; equivalently (E. Hairer, S. P. Norsett, G. Wanner, *Solving
Ordinary Differential Equations I*, 2nd ed., Springer, 1993, Section
II.6) every rooted tree ``t`` with ``|t| <= p*`` vertices
satisfies the continuous order condition

    sum_i b_i(theta) g_i(t) = theta**|t| / gamma(t)

for all ``theta``, with the stage vectors ``g(t)`` and densities
``gamma(t)`` of :mod:`~batchode.algorithms.tableaus.order_conditions`
formed on the extended tableau (extra stages included).
That is checked by the tests, not here: construction checks only what is
cheap and exact (shapes, finiteness, orders, the extra stages' row sums), and
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

from batchode.algorithms.tableaus.coefficients import _close, _to_matrix, _to_vector

__all__ = ["DenseOutput"]


@attrs.frozen
class DenseOutput:
    """The polynomial weights of a Runge-Kutta method's continuous extension.

    Parameters
    ----------
    coefficients : sequence of sequences
        ``stages x degree`` matrix: row ``i`` holds the coefficients of
        ``theta, theta**2, ..., theta**degree`` in ``b_i(theta)`` (no
        constant term), one row per stage of the method and then one per
        extra stage.  Read like tableau coefficients.
    order : int
        Order ``p*`` of the interpolant (at most the method's order, and at
        most ``degree``).
    citation : str
        Where the interpolant comes from.
    extra_a : sequence of sequences, optional
        One row per extra stage: row ``r`` holds its coefficients over all
        earlier stages, the method's ``s`` stages and then the ``r``
        earlier extra stages (``s + r`` entries).  Empty (the default) for
        an interpolant that needs only the method's stages.
    extra_c : sequence, optional
        The extra stages' nodes, one per row of ``extra_a``.

    Raises
    ------
    ValueError
        If the matrix is empty or ragged, has a non-finite entry, or the
        order is not an int between 1 and the degree; if the extra stages
        leave no row for the method's stages, ``extra_c`` and ``extra_a``
        differ in length, a row of ``extra_a`` does not have one entry per
        earlier stage, an extra coefficient or node is not finite, or a row
        of ``extra_a`` does not sum to its node.

    Notes
    -----
    A polynomial of degree below ``p*`` cannot meet the condition
    ``sum_i b_i(theta) c_i**(p*-1) = theta**p* / p*`` of the bushy tree,
    hence ``order <= degree``.
    """

    coefficients: tuple[tuple[float, ...], ...] = attrs.field(converter=_to_matrix)
    order: int
    citation: str
    extra_a: tuple[tuple[float, ...], ...] = attrs.field(default=(), converter=_to_matrix)
    extra_c: tuple[float, ...] = attrs.field(default=(), converter=_to_vector)

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
        self._check_extra_stages()

    def _check_extra_stages(self) -> None:
        if len(self.extra_c) != len(self.extra_a):
            raise ValueError(f"dense output: extra_c has {len(self.extra_c)} nodes but extra_a has "
                             f"{len(self.extra_a)} rows (one per extra stage)")
        if self.method_stages < 1:
            raise ValueError(f"dense output: {self.extra_stages} extra stages but only {self.stages} rows of "
                             "coefficients; give one row per stage of the method, then one per extra stage")
        for r, (row, node) in enumerate(zip(self.extra_a, self.extra_c)):
            earlier = self.method_stages + r
            if len(row) != earlier:
                raise ValueError(f"dense output: row {r} of extra_a has {len(row)} entries but extra stage {r} "
                                 f"needs one per earlier stage ({self.method_stages} of the method + {r} extra "
                                 f"= {earlier})")
            for j, value in enumerate((*row, node)):
                if not math.isfinite(value):
                    label = f"extra_a[{r}][{j}]" if j < earlier else f"extra_c[{r}]"
                    raise ValueError(f"dense output: {label} is {value!r}, not finite")
            # The stage is evaluated at t + c h, so its state must be a
            # consistent approximation there (the row-sum condition A 1 = c).
            total = math.fsum(row)
            if not _close(total, node, math.fsum(abs(x) for x in row)):
                raise ValueError(f"dense output: row {r} of extra_a sums to {total!r} but extra_c[{r}] = "
                                 f"{node!r}")

    @property
    def stages(self) -> int:
        """Number of stages the interpolant reads (rows of :attr:`coefficients`), extra stages included."""
        return len(self.coefficients)

    @property
    def extra_stages(self) -> int:
        """Number of extra stages (rows of :attr:`extra_a`)."""
        return len(self.extra_a)

    @property
    def method_stages(self) -> int:
        """Number of the method's own stages among :attr:`stages`."""
        return self.stages - self.extra_stages

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
