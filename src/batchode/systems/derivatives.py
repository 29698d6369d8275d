"""Derivatives of a system's right-hand side, for implicit solvers.

Equation systems get exact derivatives: SymPy differentiates
:attr:`SymbolicModel.derivatives` and the result is printed like ``dxdt``
(:func:`~batchode.systems.codegen.module_source`), and
:func:`jacobian_sparsity` lists the entries of ``df/dy`` that can be
non-zero (``jacobian_values`` writes those alone, in that order, for sparse
linear solvers).  Systems defined by a Python function use the user's
derivative functions or finite differences of the compiled ``dxdt``
(:func:`finite_difference_functions`).
"""

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import sympy

from batchode.systems.codegen import GeneratedFunction, module_source
from batchode.systems.model import SymbolicModel
from batchode.systems.parsing import IfElse


class DerivativeFunctions(NamedTuple):
    """Compiled derivatives of ``f`` in ``dy/dt = f(t, y, p)``.

    Every function but ``jacobian_values`` takes ``work``, caller-owned
    scratch of ``2 * n_states`` entries of the working precision; only
    finite-difference versions use it, and none allocates.  Only the first
    ``n_states`` entries of ``y`` are read (user-supplied functions must do
    the same), so ``y`` may be a longer array.

    Attributes
    ----------
    jvp : callable
        ``jvp(t, y, p, v, out, work)`` writes ``J v`` into ``out``, with
        ``J = df/dy``.
    jacobian : callable
        ``jacobian(t, y, p, out, work)`` writes ``J`` row-major into ``out``:
        ``out[i * n + j] = df_i/dy_j`` (``n * n`` entries).
    time_derivative : callable
        ``time_derivative(t, y, p, out, work)`` writes the partial derivative
        ``df/dt`` into ``out`` (zeros for an autonomous system).
    jacobian_diagonal : callable or None
        ``jacobian_diagonal(t, y, p, out, work)`` writes ``df_i/dy_i`` into
        ``out`` (``n`` entries), for Jacobi preconditioning.  Generated for
        equation systems; None for Python-function systems, whose diagonal
        would take ``n`` calls to ``dxdt`` (a Jacobi-preconditioned solver
        reads it from a user-supplied ``jacobian`` instead).
    jacobian_values : callable or None
        ``jacobian_values(t, y, p, out)`` writes the structural non-zeros of
        ``J`` into ``out`` (``nnz`` entries), in the order of
        :func:`jacobian_sparsity`: ``out[k] = df_i/dy_j`` for its ``k``-th
        ``(i, j)``, with no ``n * n`` scratch, for sparse linear solvers.
        Generated for equation systems, which never need ``work`` (so it
        takes none); None for Python-function systems, whose sparsity is
        unknown.
    """

    jvp: Callable
    jacobian: Callable
    time_derivative: Callable
    jacobian_diagonal: Callable | None = None
    jacobian_values: Callable | None = None


def generate_derivative_source(model: SymbolicModel) -> str:
    """Return the Python source defining the functions of :class:`DerivativeFunctions`.

    Parameters
    ----------
    model : SymbolicModel

    Returns
    -------
    str
        A module to compile with
        ``compile_source(source, precision, decorator, DerivativeFunctions)``.
        ``jvp`` only has the terms of nonzero Jacobian entries; ``jacobian``
        has a line for each entry of :func:`jacobian_sparsity`, and clears
        the others with one loop when they are the majority (see
        :func:`~batchode.systems.codegen.module_source`), so its size grows
        with the non-zeros, not with ``n**2``; ``jacobian_diagonal`` holds
        only the diagonal entries, so their common subexpressions are
        shared among them alone; ``jacobian_values`` holds the entries of
        :func:`jacobian_sparsity`, in its order, and nothing else.

    Notes
    -----
    Derivatives are taken branch-wise: that of ``ifelse`` is the derivative
    of the branch it takes, ``min``, ``max`` and ``abs`` are differentiated
    as the ``ifelse`` choosing the argument they return (at a tie, the
    derivative of one of the tied arguments), and ``floor`` and ``ceil``
    have derivative zero.  The jumps at switching points are ignored, as a
    Jacobian for Newton iterations should.
    """
    derivatives = [_branchwise(f) for f in model.derivatives]
    jacobian = [_gradient(f, model.states) for f in derivatives]
    sparsity = _non_zeros(jacobian)
    directions = tuple(sympy.Symbol(f"_v{j}", real=True) for j in range(len(model.states)))
    jvp = tuple(
        sympy.Add(*(entry * v for entry, v in zip(row, directions) if not entry.is_zero))
        for row in jacobian
    )
    inputs = (("_y", model.states), ("_p", model.parameters))
    return module_source(
        model,
        [
            GeneratedFunction(
                "jvp",
                ("t", "_y", "_p", "_v", "_out", "_work"),
                (*inputs, ("_v", directions)),
                "_out",
                jvp,
            ),
            GeneratedFunction(
                "jacobian",
                ("t", "_y", "_p", "_out", "_work"),
                inputs,
                "_out",
                tuple(entry for row in jacobian for entry in row),
            ),
            GeneratedFunction(
                "time_derivative",
                ("t", "_y", "_p", "_out", "_work"),
                inputs,
                "_out",
                tuple(_gradient(f, (model.time,))[0] for f in derivatives),
            ),
            GeneratedFunction(
                "jacobian_diagonal",
                ("t", "_y", "_p", "_out", "_work"),
                inputs,
                "_out",
                tuple(row[i] for i, row in enumerate(jacobian)),
            ),
            GeneratedFunction(
                "jacobian_values",
                ("t", "_y", "_p", "_out"),
                inputs,
                "_out",
                tuple(jacobian[i][j] for i, j in sparsity),
            ),
        ],
    )


def jacobian_sparsity(model: SymbolicModel) -> tuple[tuple[int, int], ...]:
    """Return the structurally non-zero entries of ``df/dy``, as generated code writes them.

    Parameters
    ----------
    model : SymbolicModel

    Returns
    -------
    tuple of (int, int)
        The ``(row, column)`` of each entry whose derivative SymPy does not
        reduce to ``0``, sorted row-major: ``(i, j)`` when ``f_i`` depends
        on ``y_j``, differentiated as :func:`generate_derivative_source`
        does (so ``floor(y_j)`` alone is no dependence).  Every other entry
        is zero for every ``t``, ``y`` and ``p``; a listed one may still be
        zero at some points.
    """
    return _non_zeros([_gradient(_branchwise(f), model.states) for f in model.derivatives])


def _non_zeros(jacobian: Sequence[Sequence[sympy.Expr]]) -> tuple[tuple[int, int], ...]:
    """``(row, column)`` of the entries of ``jacobian`` (rows of SymPy expressions) other than ``0``, row-major."""
    return tuple((i, j) for i, row in enumerate(jacobian) for j, entry in enumerate(row) if entry != 0)


def _branchwise(expression: sympy.Basic) -> sympy.Basic:
    """Rewrite ``min``, ``max`` and ``abs`` as ``IfElse``, whose derivative is branch-wise.

    SymPy would differentiate them into ``Heaviside`` and ``sign``, which
    the printer does not know and which average the branches at a tie.
    """
    if expression.is_Atom:
        return expression
    arguments = [_branchwise(a) for a in expression.args]
    if expression.func is sympy.Abs:
        (argument,) = arguments
        return IfElse(argument < 0, -argument, argument)
    if expression.func in (sympy.Min, sympy.Max):
        keep = sympy.Le if expression.func is sympy.Min else sympy.Ge
        chosen, *others = arguments
        for other in others:
            chosen = IfElse(keep(chosen, other), chosen, other)
        return chosen
    if arguments == list(expression.args):
        return expression
    return expression.func(*arguments)


def _gradient(expression: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    """Derivatives of ``expression`` by each symbol, holding ``floor`` and ``ceil`` constant.

    SymPy leaves their derivatives unevaluated; they are zero wherever they
    exist, so each is replaced by a constant placeholder while differentiating.
    """
    steps = {step: sympy.Dummy(real=True) for step in expression.atoms(sympy.floor, sympy.ceiling)}
    restore = {placeholder: step for step, placeholder in steps.items()}
    held = expression.xreplace(steps)
    # Most entries of a large Jacobian are zero: skipping the symbols
    # ``expression`` does not contain saves SymPy a Derivative each.
    present = held.free_symbols
    return [held.diff(symbol).xreplace(restore) if symbol in present else sympy.S.Zero for symbol in symbols]


def finite_difference_functions(
    dxdt: Callable, n_states: int, precision: type[np.floating]
) -> DerivativeFunctions:
    """Return Python functions approximating the derivatives from calls to ``dxdt``.

    Forward differences, each costing one or ``n + 1`` calls to ``dxdt``,
    all of them first computing ``f0 = f(t, y)`` into ``work[:n]``:

    - ``jvp``: ``(f(t, y + h v) - f0) / h`` with
      ``h = sqrt(eps) (1 + ||y||) / ||v||`` (max norms), and ``out = 0`` when
      ``v = 0``;
    - ``jacobian``: column ``j`` from ``y + h_j e_j`` with
      ``h_j = sqrt(eps) max(1, |y_j|)``;
    - ``time_derivative``: from ``t + h`` with ``h = sqrt(eps) max(1, |t|)``.

    Parameters
    ----------
    dxdt : callable
        The compiled right-hand side, called from the returned functions.
    n_states : int
        The loop bounds, fixed at compile time (``y`` may be longer).
    precision : numpy.float32 or numpy.float64
        Sets ``eps``; every constant has this type, so float32 code stays
        float32.

    Returns
    -------
    DerivativeFunctions
        Uncompiled functions with the signatures documented there, for the
        caller's decorator.

    Notes
    -----
    The error is of order ``sqrt(eps)`` relative to the size of ``f`` and
    its derivatives (about 1e-8 in float64, 3e-4 in float32), larger where
    ``f`` changes much on the scale of ``h``.
    """
    n = n_states
    sqrt_eps = precision(np.sqrt(np.finfo(precision).eps))
    zero, one = precision(0), precision(1)

    def jvp(t, y, p, v, out, work):
        y_size = zero
        v_size = zero
        for j in range(n):
            y_size = max(y_size, abs(y[j]))
            v_size = max(v_size, abs(v[j]))
        if v_size == zero:
            for i in range(n):
                out[i] = zero
            return
        f0 = work[:n]
        shifted = work[n : 2 * n]
        dxdt(t, y, p, f0)
        h = sqrt_eps * (one + y_size) / v_size
        for j in range(n):
            shifted[j] = y[j] + h * v[j]
        dxdt(t, shifted, p, out)
        for i in range(n):
            out[i] = (out[i] - f0[i]) / h

    def jacobian(t, y, p, out, work):
        f0 = work[:n]
        shifted = work[n : 2 * n]
        dxdt(t, y, p, f0)
        for j in range(n):
            shifted[j] = y[j]
        # Column j goes to out[j*n:(j+1)*n], contiguous for dxdt to write
        # into without more scratch; the transpose at the end makes it a column.
        for j in range(n):
            shifted[j] = y[j] + sqrt_eps * max(one, abs(y[j]))
            h = shifted[j] - y[j]  # the step actually taken, after rounding
            column = out[j * n : (j + 1) * n]
            dxdt(t, shifted, p, column)
            for i in range(n):
                column[i] = (column[i] - f0[i]) / h
            shifted[j] = y[j]
        for i in range(n):
            for j in range(i + 1, n):
                out[i * n + j], out[j * n + i] = out[j * n + i], out[i * n + j]

    def time_derivative(t, y, p, out, work):
        f0 = work[:n]
        dxdt(t, y, p, f0)
        shifted = t + sqrt_eps * max(one, abs(t))
        h = shifted - t  # the step actually taken, after rounding
        dxdt(shifted, y, p, out)
        for i in range(n):
            out[i] = (out[i] - f0[i]) / h

    return DerivativeFunctions(jvp, jacobian, time_derivative)

