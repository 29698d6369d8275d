"""The :class:`ButcherTableau` data class.

A Butcher tableau is the complete, frozen description of a Runge-Kutta
method: the stage matrix ``a``, the weights ``b``, the nodes ``c`` and,
for embedded pairs, a second set of weights ``b_hat`` whose solution is
compared with the propagated one to estimate the local error.  A method
without an embedded pair may instead carry a :class:`ResidualEstimate`,
which estimates the error from the residual of an interpolant over the
step, or a :class:`HistoryEstimate`, which estimates it from divided
differences of the last accepted solutions.  The classes hold only data
plus cheap derived flags; turning a tableau into a step function is the
job of the integration engine.

Coefficients may be given as floats, ints, :class:`fractions.Fraction`
or strings (``"1/5"``, ``"-0.848e-2"``, long decimal expansions); they
are read as described in
:mod:`~batchode.algorithms.tableaus.coefficients`.  A tableau may also
carry a :class:`~batchode.algorithms.tableaus.dense_output.DenseOutput`,
the interpolant that evaluates the solution inside a step.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import attrs

from batchode.algorithms.tableaus.coefficients import (
    CONSISTENCY_RTOL,
    _close,
    _to_float,
    _to_matrix,
    _to_optional_vector,
    _to_vector,
)
from batchode.algorithms.tableaus.dense_output import DenseOutput

__all__ = ["ButcherTableau", "CONSISTENCY_RTOL", "HistoryEstimate", "ResidualEstimate"]


def _to_aliases(aliases: Any) -> tuple[str, ...]:
    # A bare string is one alias, not a sequence of one-letter aliases.
    return (aliases,) if isinstance(aliases, str) else tuple(aliases)


@attrs.frozen
class ResidualEstimate:
    """An error estimate from the residual of the step's interpolant.

    For a method without an embedded pair (L. F. Shampine, "Solving ODEs
    and DDEs with residual control", *Applied Numerical Mathematics* 52
    (2005) 113-127): after the step from ``(t, y)`` to ``(t + dt, y_new)``
    the engine evaluates ``f`` at the new point, takes the cubic Hermite
    interpolant ``u`` that matches ``y``, ``y_new`` and the derivatives
    ``f`` at both ends, and samples the scaled residual
    ``r(s) = dt * (f(t + s dt, u(s)) - u'(s))`` at each node ``s``.  The
    error estimate is ``scale`` times the sampled residual whose weighted
    RMS norm is largest, so its norm is ``scale * max_s ||r(s)||``.

    Parameters
    ----------
    nodes : sequence
        Fractions of the step at which the residual is sampled; distinct,
        strictly inside (0, 1) (at the ends the interpolant matches ``f``
        and the residual vanishes).  Read like tableau coefficients.
    scale : float or str
        Positive factor turning the largest sampled residual into the
        error estimate.
    citation : str
        Where the nodes and the scale come from.

    Raises
    ------
    ValueError
        If there is no node, a node is outside (0, 1) or repeated, or the
        scale is not a positive finite number.

    Notes
    -----
    The estimate costs ``1 + len(nodes)`` evaluations of ``f`` per step,
    of which the one at the new point is reused as the next step's first
    stage after an accepted step.
    """

    nodes: tuple[float, ...] = attrs.field(converter=_to_vector)
    scale: float = attrs.field(converter=_to_float)
    citation: str

    def __attrs_post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("residual estimate: nodes is empty; sample the residual at one node at least")
        for node in self.nodes:
            if not 0.0 < node < 1.0:
                raise ValueError(f"residual estimate: node {node!r} is not strictly inside (0, 1)")
        if len(set(self.nodes)) != len(self.nodes):
            raise ValueError(f"residual estimate: nodes {self.nodes!r} repeat a node")
        if not (math.isfinite(self.scale) and self.scale > 0.0):
            raise ValueError(f"residual estimate: scale must be a positive finite number, got {self.scale!r}")


@attrs.frozen
class HistoryEstimate:
    """An error estimate from divided differences of the accepted solutions.

    For a method of order ``p`` without an embedded pair whose local error
    is a multiple of ``dt**(p+1) y^(p+1)`` (backward Euler, the trapezoidal
    rule), as in circuit simulators (SPICE) and OrdinaryDiffEq.jl's
    ``ImplicitEuler`` and ``Trapezoid``: after a step from ``t`` to
    ``t + dt``, the ``q = p + 1`` points accepted last, ``t`` included, and
    the new one ``(t + dt, y_new)`` give the ``q``-th divided difference
    ``D`` of the solution, which equals ``y^(q)(s) / q!`` for some ``s`` in
    their span.  The estimate is ``scale * dt**q * D``, componentwise.

    While fewer than ``q`` points have been accepted (the first ``q - 1``
    steps of a trajectory) there is no estimate and the step reports an
    error of size 1 (Julia's ``EEst = 1``): it is accepted and the
    controller neither grows the step on it nor trusts it.

    Parameters
    ----------
    order : int
        ``q``, the order of the divided difference; the method's order plus
        one (checked by :class:`ButcherTableau`).
    scale : float or str
        Positive factor ``c`` of the estimate ``c dt**q D``.  The exact
        leading term of the local error is ``C q! dt**q D`` for a method of
        error constant ``C``; SPICE's correction factor 7/12 (divided
        differences overestimate the error) reduces it.
    citation : str
        Where the estimate and its scale come from.

    Raises
    ------
    ValueError
        If ``order`` is not an int of at least 2 or ``scale`` is not a
        positive finite number.

    Notes
    -----
    The step keeps the ``q`` latest accepted points (times and states) in
    persistent memory and moves them on only after accepted steps, so a
    rejected step is retried with the same history.
    """

    order: int
    scale: float = attrs.field(converter=_to_float)
    citation: str

    def __attrs_post_init__(self) -> None:
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 2:
            raise ValueError(f"history estimate: order must be an int >= 2, got {self.order!r}")
        if not (math.isfinite(self.scale) and self.scale > 0.0):
            raise ValueError(f"history estimate: scale must be a positive finite number, got {self.scale!r}")


@attrs.frozen
class ButcherTableau:
    """A validated, immutable Runge-Kutta Butcher tableau.

    Parameters
    ----------
    name : str
        Canonical registry name, e.g. ``"dormand-prince-54"``.
    a : sequence of sequences
        Full ``s x s`` stage matrix, zero-padded (explicit methods are
        strictly lower triangular).  Stored as a tuple of tuples of float.
    b : sequence
        The ``s`` weights of the propagated solution.
    c : sequence
        The ``s`` nodes; must equal the row sums of ``a``.
    order : int
        Classical order of the solution given by ``b``.
    b_hat : sequence or None
        Weights of the embedded solution used for error estimation, or
        ``None`` for a method without an error estimate.
    embedded_order : int or None
        Order of the solution given by ``b_hat``; given iff ``b_hat`` is.
    citation : str
        Where the coefficients come from.
    aliases : tuple of str, optional
        Alternative registry names.
    residual_estimate : ResidualEstimate or None, optional
        How a method without ``b_hat`` estimates its error from a residual
        (see :class:`ResidualEstimate`), or ``None``.
    history_estimate : HistoryEstimate or None, optional
        How a method without ``b_hat`` estimates its error from divided
        differences of its accepted solutions (see
        :class:`HistoryEstimate`), or ``None``.
    dense_output : DenseOutput or None, optional
        The method's own interpolant inside a step (see
        :class:`~batchode.algorithms.tableaus.dense_output.DenseOutput`),
        or ``None`` for a method without a published one.

    Raises
    ------
    ValueError
        If a coefficient cannot be read as a number, or if the tableau is
        inconsistent (shapes, row sums, weight sums, orders); the message
        names the tableau and the offending quantity.  Also if more than one
        of ``b_hat``, a residual estimate and a history estimate is given (a
        method has one error estimate), if a residual estimate is given for
        an implicit tableau (only the explicit engine forms one), or if a
        history estimate is given for a tableau that is not diagonally
        implicit (only the DIRK engine forms one) or whose order is not the
        estimate's order minus one.  Also if a dense output does not fit
        the tableau: a row count other than the stage count (plus the
        interpolant's extra stages), an order above the method's, weights
        that do not end on the step's solution (``b_i(1) != b_i``, and
        ``b_i(1) != 0`` for an extra stage) or that are inconsistent
        (``sum_i b_i(theta) != theta``).

    Notes
    -----
    Consistency is checked to the relative tolerance
    :data:`CONSISTENCY_RTOL`; the order conditions are not checked here
    (see :mod:`batchode.algorithms.tableaus.order_conditions`).
    """

    name: str
    a: tuple[tuple[float, ...], ...] = attrs.field(converter=_to_matrix)
    b: tuple[float, ...] = attrs.field(converter=_to_vector)
    c: tuple[float, ...] = attrs.field(converter=_to_vector)
    order: int
    b_hat: tuple[float, ...] | None = attrs.field(converter=_to_optional_vector)
    embedded_order: int | None
    citation: str
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_to_aliases)
    residual_estimate: ResidualEstimate | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(ResidualEstimate))
    )
    history_estimate: HistoryEstimate | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(HistoryEstimate))
    )
    dense_output: DenseOutput | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DenseOutput))
    )

    def __attrs_post_init__(self) -> None:
        self._check_names()
        self._check_shapes()
        self._check_finite()
        self._check_orders()
        self._check_row_sums()
        self._check_weight_sums()
        self._check_error_estimates()
        self._check_dense_output()

    def _fail(self, message: str) -> NoReturn:
        raise ValueError(f"Butcher tableau {self.name!r}: {message}")

    def _check_names(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Butcher tableau name must be a non-empty str, got {self.name!r}")
        for alias in self.aliases:
            if not isinstance(alias, str) or not alias:
                self._fail(f"aliases must be non-empty strings, got {alias!r}")

    def _check_shapes(self) -> None:
        s = len(self.b)
        if s == 0:
            self._fail("b is empty; a tableau needs at least one stage")
        if len(self.c) != s:
            self._fail(f"c has {len(self.c)} entries but b has {s}")
        if len(self.a) != s:
            self._fail(f"a has {len(self.a)} rows but b has {s} entries")
        for i, row in enumerate(self.a):
            if len(row) != s:
                self._fail(f"row {i} of a has {len(row)} entries, expected {s}")
        if self.b_hat is not None and len(self.b_hat) != s:
            self._fail(f"b_hat has {len(self.b_hat)} entries but b has {s}")

    def _check_finite(self) -> None:
        quantities = {"b": self.b, "c": self.c, "b_hat": self.b_hat or ()}
        quantities.update({f"row {i} of a": row for i, row in enumerate(self.a)})
        for label, values in quantities.items():
            for j, v in enumerate(values):
                if not math.isfinite(v):
                    self._fail(f"{label} has a non-finite entry {v!r} at index {j}")

    def _check_orders(self) -> None:
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            self._fail(f"order must be an int, got {self.order!r}")
        if self.order < 1:
            self._fail(f"order must be >= 1, got {self.order}")
        if (self.b_hat is None) != (self.embedded_order is None):
            self._fail(
                "embedded_order must be given exactly when b_hat is given "
                f"(b_hat is {'missing' if self.b_hat is None else 'given'}, "
                f"embedded_order={self.embedded_order!r})"
            )
        if self.embedded_order is not None:
            eo = self.embedded_order
            if isinstance(eo, bool) or not isinstance(eo, int) or eo < 1:
                self._fail(f"embedded_order must be an int >= 1, got {eo!r}")
            if self.b_hat == self.b:
                self._fail("b_hat equals b, so the error estimate would vanish")

    def _check_row_sums(self) -> None:
        for i, (row, ci) in enumerate(zip(self.a, self.c)):
            total = math.fsum(row)
            if not _close(total, ci, math.fsum(abs(x) for x in row)):
                self._fail(f"row {i} of a sums to {total!r} but c[{i}] = {ci!r}")

    def _check_weight_sums(self) -> None:
        weights = {"b": self.b}
        if self.b_hat is not None:
            weights["b_hat"] = self.b_hat
        for label, w in weights.items():
            total = math.fsum(w)
            if not _close(total, 1.0, math.fsum(abs(x) for x in w)):
                self._fail(f"{label} sums to {total!r}, not 1")

    def _check_error_estimates(self) -> None:
        given = [label for label, estimate in (("an embedded pair (b_hat)", self.b_hat),
                                               ("a residual estimate", self.residual_estimate),
                                               ("a history estimate", self.history_estimate))
                 if estimate is not None]
        if len(given) > 1:
            self._fail(f"has {' and '.join(given)}; give one error estimate")
        if self.residual_estimate is not None and not self.is_explicit:
            self._fail("a residual estimate needs an explicit tableau (only the explicit engine forms one)")
        if self.history_estimate is not None:
            if not self.is_diagonally_implicit:
                self._fail("a history estimate needs a diagonally implicit tableau (only the DIRK engine forms one)")
            if self.history_estimate.order != self.order + 1:
                self._fail(f"a history estimate of order {self.history_estimate.order} does not estimate the "
                           f"local error of an order-{self.order} method (its order must be {self.order + 1})")

    def _check_dense_output(self) -> None:
        dense = self.dense_output
        if dense is None:
            return
        if dense.method_stages != self.stages:
            extra = f" for the tableau's stages and {dense.extra_stages} extra stages" if dense.extra_stages else ""
            self._fail(f"dense output has {dense.stages} rows of coefficients{extra} but the tableau has "
                       f"{self.stages} stages")
        if dense.order > self.order:
            self._fail(f"dense output of order {dense.order} exceeds the method's order {self.order}")
        # u(t + h) must be the propagated solution, or the saved values
        # would jump at every step boundary: b_i(1) = b_i, and 0 for an
        # extra stage.
        for i, (row, bi) in enumerate(zip(dense.coefficients, self.b + (0.0,) * dense.extra_stages)):
            end = math.fsum(row)
            if not _close(end, bi, math.fsum(abs(x) for x in row)):
                target = f"b[{i}] = {bi!r}" if i < self.stages else f"extra stage {i - self.stages} has no weight in b"
                self._fail(f"dense output weight b_{i}(1) = {end!r} but {target}; the interpolant "
                           "must end on the step's solution")
        # sum_i b_i(theta) = theta: the interpolant of y' = 1 is exact.
        for m, column in enumerate(zip(*dense.coefficients), start=1):
            total, target = math.fsum(column), float(m == 1)
            if not _close(total, target, math.fsum(abs(x) for x in column)):
                self._fail(f"dense output coefficients of theta**{m} sum to {total!r}, not {target:g}, "
                           "so sum_i b_i(theta) != theta")

    @property
    def stages(self) -> int:
        """Number of stages ``s``."""
        return len(self.b)

    @property
    def is_explicit(self) -> bool:
        """True if ``a`` is strictly lower triangular."""
        return all(x == 0.0 for i, row in enumerate(self.a) for x in row[i:])

    @property
    def is_diagonally_implicit(self) -> bool:
        """True if ``a`` is lower triangular with a nonzero diagonal entry."""
        lower = all(x == 0.0 for i, row in enumerate(self.a) for x in row[i + 1 :])
        return lower and any(row[i] != 0.0 for i, row in enumerate(self.a))

    @property
    def is_fully_implicit(self) -> bool:
        """True if ``a`` has a nonzero entry above the diagonal."""
        return any(x != 0.0 for i, row in enumerate(self.a) for x in row[i + 1 :])

    @property
    def family(self) -> str:
        """Which kind of engine the tableau needs: ``"erk"``, ``"dirk"`` or ``"firk"``.

        ``"erk"`` for an explicit tableau; ``"dirk"`` for a lower
        triangular ``a`` with a nonzero diagonal entry (SDIRK, ESDIRK, and
        one-stage methods such as backward Euler and the implicit
        midpoint rule), solved one stage at a time; ``"firk"`` when ``a``
        has a nonzero entry above the diagonal, so all stages are coupled.
        (:class:`~batchode.algorithms.tableaus.rosenbrock.RosenbrockTableau`
        reports ``"rosenbrock"``.)
        """
        if self.is_explicit:
            return "erk"
        return "firk" if self.is_fully_implicit else "dirk"

    @property
    def first_stage_explicit(self) -> bool:
        """True if the first row of ``a`` is zero (stage 1 needs no solve)."""
        return all(x == 0.0 for x in self.a[0])

    @property
    def is_stiffly_accurate(self) -> bool:
        """True if the last row of ``a`` equals ``b``.

        The comparison is exact: the tableaus in this package give the
        last row and ``b`` from the same source values, so they round to
        identical floats when the property holds.
        """
        return self.a[-1] == self.b

    @property
    def is_fsal(self) -> bool:
        """True if the method is "first same as last".

        For an explicit, stiffly accurate tableau with ``c[-1] == 1`` the
        last stage is evaluated at ``(t + h, y_new)``, so its derivative
        is the first stage derivative of the next step and can be reused.
        """
        return self.is_explicit and self.is_stiffly_accurate and self.c[-1] == 1.0

    @property
    def has_error_estimate(self) -> bool:
        """True if the method estimates its local error, so it can adapt its step.

        From embedded weights ``b_hat`` (then :attr:`error_weights` is set),
        a :attr:`residual_estimate` or a :attr:`history_estimate`.
        """
        return any(estimate is not None for estimate in (self.b_hat, self.residual_estimate, self.history_estimate))

    @property
    def error_weights(self) -> tuple[float, ...] | None:
        """``b - b_hat`` (the weights of the local error estimate), or None."""
        if self.b_hat is None:
            return None
        return tuple(bi - bh for bi, bh in zip(self.b, self.b_hat))
