"""The :class:`RosenbrockTableau` data class.

A Rosenbrock (linearly implicit Runge-Kutta) method is stored in the
standard form of E. Hairer and G. Wanner, *Solving Ordinary Differential
Equations II*, 2nd ed., Springer (1996), Section IV.7, eq. (7.4) with
the non-autonomous extension (7.4'): for ``y' = f(t, y)`` with
``J = f_y(t0, y0)`` and ``f_t = f_t(t0, y0)``, each of the ``s`` stages
solves one linear system,

    (I - h gamma_ii J) k_i = h f(t0 + c_i h, y0 + sum_{j<i} alpha_ij k_j)
                             + h J sum_{j<i} gamma_ij k_j + d_i h**2 f_t,

    y1 = y0 + sum_i b_i k_i,        y1_hat = y0 + sum_i b_hat_i k_i,

with ``c_i = sum_j alpha_ij`` and ``d_i = sum_{j<=i} gamma_ij`` (Hairer
and Wanner call them ``alpha_i`` and ``gamma_i``).  All the methods
stored here have a constant diagonal ``gamma_ii = gamma_diag``, so one LU
factorisation of ``I - h gamma_diag J`` serves every stage.  A
Rosenbrock-W method is the same scheme used with an arbitrary
approximation of ``J``; whether a tableau keeps its order then depends
on extra conditions that the class does not check (see the method
modules).

The efficient implementation (HW II, eqs. (7.25)-(7.26)) avoids the
matrix-vector products with ``J``: with ``Gamma = (gamma_ij)`` and
``u_i = sum_{j<=i} gamma_ij k_j`` it solves

    (I / (h gamma_diag) - J) u_i = f(t0 + c_i h, y0 + sum_{j<i} A_ij u_j)
                                   + sum_{j<i} (C_ij / h) u_j + d_i h f_t,

    y1 = y0 + sum_i m_i u_i,        y1_hat = y0 + sum_i m_hat_i u_i,

with ``A = alpha Gamma^-1``, ``C = diag(1/gamma_diag) - Gamma^-1``
(strictly lower triangular), ``m = b Gamma^-1`` and
``m_hat = b_hat Gamma^-1``.  These are derived properties, computed
exactly (in rational arithmetic on the stored float64 values) and
rounded once; since the standard form is what is stored, exact zeros of
a source's transformed form may come back as ~1e-16-relative residues.
Published tableaus and codes (Hairer's ``rodas.f``,
DifferentialEquations.jl) often give only this transformed form;
:meth:`RosenbrockTableau.from_transformed` converts such data back to
the standard form exactly.  A tableau may also carry the method's
interpolant inside a step, a
:class:`~batchode.algorithms.tableaus.rosenbrock_dense_output.RosenbrockDenseOutput`
in the increments ``u_i``.

Coefficients are converted as for :class:`~batchode.algorithms.tableaus.
butcher.ButcherTableau`: strings, ints and fractions exactly, then one
rounding to float64.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cached_property
from typing import Any, NoReturn

import attrs

from batchode.algorithms.tableaus.butcher import _to_aliases
from batchode.algorithms.tableaus.coefficients import (
    _close,
    _to_float,
    _to_matrix,
    _to_optional_vector,
    _to_vector,
)
from batchode.algorithms.tableaus.rosenbrock_dense_output import RosenbrockDenseOutput

__all__ = ["RosenbrockTableau"]

Matrix = tuple[tuple[float, ...], ...]


def _exact(value: Any) -> Fraction:
    """One coefficient as an exact Fraction (strings read exactly)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, str):
        return Fraction(value.strip())
    return Fraction(_to_float(value)) if isinstance(value, float) else Fraction(value)


def _exact_lower(rows: Any, s: int, label: str) -> list[list[Fraction]]:
    """A lower triangular ``s x s`` matrix; rows may omit trailing zeros."""
    rows = [list(r) for r in rows]
    if len(rows) != s:
        raise ValueError(f"{label} has {len(rows)} rows, expected {s}")
    out = []
    for i, row in enumerate(rows):
        if len(row) > s:
            raise ValueError(f"row {i} of {label} has {len(row)} entries, expected at most {s}")
        out.append([_exact(x) for x in row] + [Fraction(0)] * (s - len(row)))
    return out


def _lower_inverse(m: list[list[Fraction]]) -> list[list[Fraction]]:
    """Inverse of a nonsingular lower triangular matrix, exactly."""
    s = len(m)
    inv = [[Fraction(0)] * s for _ in range(s)]
    for j in range(s):
        inv[j][j] = 1 / m[j][j]
        for i in range(j + 1, s):
            inv[i][j] = -sum((m[i][k] * inv[k][j] for k in range(j, i)), Fraction(0)) / m[i][i]
    return inv


def _vec_mat(v: list[Fraction], m: list[list[Fraction]]) -> list[Fraction]:
    return [sum((v[k] * m[k][j] for k in range(len(v))), Fraction(0)) for j in range(len(m[0]))]


def _mat_mat(a: list[list[Fraction]], m: list[list[Fraction]]) -> list[list[Fraction]]:
    return [_vec_mat(row, m) for row in a]


def _round_matrix(m: list[list[Fraction]]) -> Matrix:
    return tuple(tuple(float(x) for x in row) for row in m)


@attrs.frozen
class RosenbrockTableau:
    """A validated, immutable Rosenbrock(-W) tableau in standard form.

    Parameters
    ----------
    name : str
        Canonical registry name, e.g. ``"rodas4"``.
    alpha : sequence of sequences
        The ``s x s`` matrix ``(alpha_ij)``, strictly lower triangular and
        zero-padded.
    gamma : sequence of sequences
        The ``s x s`` matrix ``(gamma_ij)``, lower triangular with one
        constant, positive diagonal value ``gamma_diag``.
    b : sequence
        The ``s`` weights of the propagated solution.
    order : int
        Classical order of ``b`` with the exact Jacobian.
    b_hat : sequence or None
        Weights of the embedded solution, or ``None``.
    embedded_order : int or None
        Order of ``b_hat`` (exact Jacobian); given iff ``b_hat`` is.  It may
        exceed ``order`` (``rosenbrock23`` estimates with an order-3
        formula while propagating the order-2 one).
    citation : str
        Where the coefficients come from.
    aliases : tuple of str, optional
        Alternative registry names.
    dense_output : RosenbrockDenseOutput or None, optional
        The method's interpolant inside a step, in the stage increments
        ``u_i`` (see
        :class:`~batchode.algorithms.tableaus.rosenbrock_dense_output.RosenbrockDenseOutput`),
        or ``None``.

    Raises
    ------
    ValueError
        If a coefficient cannot be read or the tableau is inconsistent
        (shapes, triangularity, non-constant or non-positive diagonal,
        weight sums, orders); the message names the tableau.  Also if a
        dense output does not fit: a column count other than the stage
        count, an order above the method's, or coefficients that do not
        reproduce ``y' = const`` exactly (``H d != 0``).
    """

    name: str
    alpha: Matrix = attrs.field(converter=_to_matrix)
    gamma: Matrix = attrs.field(converter=_to_matrix)
    b: tuple[float, ...] = attrs.field(converter=_to_vector)
    order: int
    b_hat: tuple[float, ...] | None = attrs.field(converter=_to_optional_vector)
    embedded_order: int | None
    citation: str
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_to_aliases)
    dense_output: RosenbrockDenseOutput | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(RosenbrockDenseOutput))
    )

    def __attrs_post_init__(self) -> None:
        self._check_names()
        self._check_shapes()
        self._check_finite()
        self._check_structure()
        self._check_orders()
        self._check_weight_sums()
        self._check_dense_output()

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------

    def _fail(self, message: str) -> NoReturn:
        raise ValueError(f"Rosenbrock tableau {self.name!r}: {message}")

    def _check_names(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Rosenbrock tableau name must be a non-empty str, got {self.name!r}")
        for alias in self.aliases:
            if not isinstance(alias, str) or not alias:
                self._fail(f"aliases must be non-empty strings, got {alias!r}")

    def _check_shapes(self) -> None:
        s = len(self.b)
        if s == 0:
            self._fail("b is empty; a tableau needs at least one stage")
        for label, m in (("alpha", self.alpha), ("gamma", self.gamma)):
            if len(m) != s:
                self._fail(f"{label} has {len(m)} rows but b has {s} entries")
            for i, row in enumerate(m):
                if len(row) != s:
                    self._fail(f"row {i} of {label} has {len(row)} entries, expected {s}")
        if self.b_hat is not None and len(self.b_hat) != s:
            self._fail(f"b_hat has {len(self.b_hat)} entries but b has {s}")

    def _check_finite(self) -> None:
        quantities = {"b": self.b, "b_hat": self.b_hat or ()}
        for label, m in (("alpha", self.alpha), ("gamma", self.gamma)):
            quantities.update({f"row {i} of {label}": row for i, row in enumerate(m)})
        for label, values in quantities.items():
            for j, v in enumerate(values):
                if not math.isfinite(v):
                    self._fail(f"{label} has a non-finite entry {v!r} at index {j}")

    def _check_structure(self) -> None:
        for i, row in enumerate(self.alpha):
            if any(x != 0.0 for x in row[i:]):
                self._fail(f"alpha must be strictly lower triangular (row {i} has a "
                           "nonzero entry on or above the diagonal)")
        for i, row in enumerate(self.gamma):
            if any(x != 0.0 for x in row[i + 1 :]):
                self._fail(f"gamma must be lower triangular (row {i} has a nonzero "
                           "entry above the diagonal)")
        diag = [row[i] for i, row in enumerate(self.gamma)]
        if not diag[0] > 0.0:
            self._fail(f"the diagonal of gamma must be positive, got {diag[0]!r}")
        for i, g in enumerate(diag):
            if not _close(g, diag[0], abs(diag[0])):
                self._fail(f"the diagonal of gamma must be constant: gamma[{i}][{i}] = {g!r} "
                           f"but gamma[0][0] = {diag[0]!r}")

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

    def _check_weight_sums(self) -> None:
        weights = {"b": self.b}
        if self.b_hat is not None:
            weights["b_hat"] = self.b_hat
        for label, w in weights.items():
            total = math.fsum(w)
            if not _close(total, 1.0, math.fsum(abs(x) for x in w)):
                self._fail(f"{label} sums to {total!r}, not 1")

    def _check_dense_output(self) -> None:
        dense = self.dense_output
        if dense is None:
            return
        if dense.stages != self.stages:
            self._fail(f"dense output has {dense.stages} stage weights per row but the tableau has "
                       f"{self.stages} stages")
        if dense.order > self.order:
            self._fail(f"dense output of order {dense.order} exceeds the method's order {self.order}")
        # For y' = v (constant) every increment is u_i = d_i h v, so the
        # correction term is sum_j theta**j (H[j] . d) h v; the interpolant
        # is exact (first-order consistent) only if each H[j] . d vanishes.
        for j, row in enumerate(dense.coefficients):
            products = [w * di for w, di in zip(row, self.d)]
            total = math.fsum(products)
            if not _close(total, 0.0, math.fsum(abs(x) for x in products)):
                self._fail(f"dense output row {j} gives H[{j}] . d = {total!r}, not 0, so the interpolant "
                           "of y' = const is not exact")

    # ------------------------------------------------------------------
    # construction from the transformed (u-form) coefficients
    # ------------------------------------------------------------------

    @classmethod
    def from_transformed(
        cls,
        *,
        name: str,
        gamma_diag: Any,
        A: Any,
        C: Any,
        m: Any,
        m_hat: Any,
        order: int,
        embedded_order: int | None,
        citation: str,
        aliases: Any = (),
        dense_output: RosenbrockDenseOutput | None = None,
    ) -> RosenbrockTableau:
        """Build the standard form from the transformed coefficients.

        Parameters
        ----------
        gamma_diag : number or str
            The constant diagonal ``gamma``.
        A, C : sequences of rows
            The strictly lower triangular ``A = alpha Gamma^-1`` and
            ``C = diag(1/gamma) - Gamma^-1``; rows may omit trailing zeros
            (``[[], [a21], [a31, a32], ...]``).
        m, m_hat : sequences
            ``b Gamma^-1`` and ``b_hat Gamma^-1`` (``m_hat`` may be None).
        order, embedded_order, citation, aliases, dense_output
            As for the constructor.

        Notes
        -----
        ``Gamma = (diag(1/gamma) - C)^-1``, ``alpha = A Gamma``,
        ``b = m Gamma`` and ``b_hat = m_hat Gamma`` are formed in exact
        rational arithmetic from the given values (decimal strings read
        exactly) and rounded once, so the only error is the source's own
        truncation of its coefficients.
        """
        s = len(list(m))
        g = _exact(gamma_diag)
        a_mat = _exact_lower(A, s, "A")
        c_mat = _exact_lower(C, s, "C")
        for label, mat in (("A", a_mat), ("C", c_mat)):
            if any(x != 0 for i, row in enumerate(mat) for x in row[i:]):
                raise ValueError(f"Rosenbrock tableau {name!r}: {label} must be strictly lower "
                                 "triangular")
        gamma_inv = [
            [(1 / g if i == j else Fraction(0)) - c_mat[i][j] for j in range(s)] for i in range(s)
        ]
        gamma_mat = _lower_inverse(gamma_inv)
        b = _vec_mat([_exact(x) for x in m], gamma_mat)
        b_hat = None if m_hat is None else _vec_mat([_exact(x) for x in m_hat], gamma_mat)
        return cls(
            name=name,
            alpha=_mat_mat(a_mat, gamma_mat),
            gamma=gamma_mat,
            b=b,
            order=order,
            b_hat=b_hat,
            embedded_order=embedded_order,
            citation=citation,
            aliases=aliases,
            dense_output=dense_output,
        )

    # ------------------------------------------------------------------
    # derived quantities
    # ------------------------------------------------------------------

    @property
    def family(self) -> str:
        """Always ``"rosenbrock"``."""
        return "rosenbrock"

    @property
    def is_explicit(self) -> bool:
        """Always False (so explicit-only code rejects the tableau cleanly)."""
        return False

    @property
    def stages(self) -> int:
        """Number of stages ``s``."""
        return len(self.b)

    @property
    def gamma_diag(self) -> float:
        """The constant diagonal entry ``gamma`` of the ``gamma`` matrix."""
        return self.gamma[0][0]

    @cached_property
    def c(self) -> tuple[float, ...]:
        """Stage times ``c_i = sum_j alpha_ij`` (HW's ``alpha_i``)."""
        return tuple(math.fsum(row) for row in self.alpha)

    @cached_property
    def d(self) -> tuple[float, ...]:
        """Time-derivative coefficients ``d_i = sum_{j<=i} gamma_ij`` (HW's ``gamma_i``)."""
        return tuple(math.fsum(row) for row in self.gamma)

    @cached_property
    def _exact_gamma_inverse(self) -> list[list[Fraction]]:
        return _lower_inverse([[Fraction(x) for x in row] for row in self.gamma])

    def _times_gamma_inverse(self, rows: list[list[float]]) -> list[list[Fraction]]:
        return _mat_mat([[Fraction(x) for x in row] for row in rows], self._exact_gamma_inverse)

    @cached_property
    def A(self) -> Matrix:  # noqa: N802 - the standard symbol
        """``alpha Gamma^-1`` (strictly lower triangular), for the u-form."""
        return _round_matrix(self._times_gamma_inverse(list(self.alpha)))

    @cached_property
    def C(self) -> Matrix:  # noqa: N802 - the standard symbol
        """``diag(1/gamma_diag) - Gamma^-1`` (strictly lower triangular)."""
        inv = self._exact_gamma_inverse
        s = self.stages
        zero = Fraction(0)
        return _round_matrix(
            [[(inv[i][i] if i == j else zero) - inv[i][j] for j in range(s)] for i in range(s)]
        )

    @cached_property
    def m(self) -> tuple[float, ...]:
        """``b Gamma^-1``: the weights of the u-form solution."""
        return _round_matrix(self._times_gamma_inverse([list(self.b)]))[0]

    @cached_property
    def m_hat(self) -> tuple[float, ...] | None:
        """``b_hat Gamma^-1``, or None."""
        if self.b_hat is None:
            return None
        return _round_matrix(self._times_gamma_inverse([list(self.b_hat)]))[0]

    @property
    def has_error_estimate(self) -> bool:
        """True if embedded weights ``b_hat`` are available."""
        return self.b_hat is not None

    @property
    def error_weights(self) -> tuple[float, ...] | None:
        """``b - b_hat`` (k-form error weights), or None."""
        if self.b_hat is None:
            return None
        return tuple(float(Fraction(x) - Fraction(y)) for x, y in zip(self.b, self.b_hat))

    @cached_property
    def m_error(self) -> tuple[float, ...] | None:
        """``m - m_hat = (b - b_hat) Gamma^-1`` (u-form error weights), or None."""
        if self.b_hat is None:
            return None
        diff = [Fraction(x) - Fraction(y) for x, y in zip(self.b, self.b_hat)]
        return tuple(float(x) for x in _vec_mat(diff, self._exact_gamma_inverse))

    @property
    def is_stiffly_accurate(self) -> bool:
        """True if ``b_i = alpha_si + gamma_si`` for all ``i`` and ``c_s = 1``.

        Hairer and Wanner II, Section VI.4: ``y1`` is then the argument
        of the last stage plus its increment, which for ``h J -> -inf``
        damps the stiff components (like a stiffly accurate Runge-Kutta
        method).  Checked to the relative tolerance of the consistency
        checks, since the tableaus converted from transformed data carry
        ~1e-16 rounding.
        """
        last = [a + g for a, g in zip(self.alpha[-1], self.gamma[-1])]
        scale = math.fsum(abs(x) for x in last)
        return _close(self.c[-1], 1.0, 1.0) and all(
            _close(x, bi, scale) for x, bi in zip(last, self.b)
        )

    @property
    def is_fsal(self) -> bool:
        """True if the last stage evaluates ``f(t0 + h, y1)``.

        That is the case when the last row of ``alpha`` equals ``b`` and
        ``c[-1] == 1``: the last stage's function value is then the first
        stage's of the next step (``rosenbrock23``).
        """
        return self.alpha[-1] == self.b and self.c[-1] == 1.0
