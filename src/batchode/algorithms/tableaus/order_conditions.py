"""Runge-Kutta order conditions from rooted trees (Butcher's theory).

A Runge-Kutta method has order ``p`` iff for every rooted tree ``t``
with at most ``p`` vertices its elementary weight equals the inverse of
the tree's density::

    Phi(t) = 1 / gamma(t).

Trees are built recursively: a tree is its root plus an unordered
collection (multiset) of subtrees, stored here as a tuple of child trees
in a canonical (non-increasing) order, with ``()`` the single-vertex
tree.  For a tree ``t = [t_1, ..., t_m]``

* ``gamma(t) = |t| * gamma(t_1) * ... * gamma(t_m)``;
* ``Phi(t) = b . g(t)`` with the stage vector
  ``g(t) = prod_k (A g(t_k))`` (elementwise product; ``g(()) = 1`` so a
  leaf child contributes ``A 1 = c``).

A continuous extension ``u(theta) = y + h sum_i b_i(theta) k_i`` has
order ``p`` iff ``Phi(t) = theta**|t| / gamma(t)`` for every ``theta``
and every tree with at most ``p`` vertices, ``Phi`` formed with the
weights ``b(theta)`` (Hairer, Norsett and Wanner, Section II.6).  When
the interpolant needs extra stages they are appended to the method's, so
the conditions are those of one extended explicit method
(:func:`extended_tableau`, :func:`continuous_order_condition_residuals`).

Reference: J. C. Butcher, *Numerical Methods for Ordinary Differential
Equations*, 3rd ed., Wiley, 2016, Chapter 3 (Sections 300-315); E.
Hairer, S. P. Norsett, G. Wanner, *Solving Ordinary Differential
Equations I*, 2nd ed., Springer, 1993, Section II.2.

Rosenbrock methods (:class:`~batchode.algorithms.tableaus.rosenbrock.
RosenbrockTableau`) with the exact Jacobian satisfy the same conditions
``Phi(t) = 1/gamma(t)`` with a modified elementary weight (Hairer and
Wanner, *Solving Ordinary Differential Equations II*, 2nd ed., 1996,
Section IV.7, Table 7.1): a vertex with a single child
contributes ``B g(child)`` with ``B = alpha + Gamma`` (the Jacobian
term acts on the full ``Gamma``, diagonal included), a vertex with two
or more children contributes ``prod_k (alpha g(child_k))`` (only the
``f``-argument shift ``alpha`` enters the higher derivatives of ``f``).
Written with the strictly lower ``beta_ij = alpha_ij + gamma_ij`` this is
HW's table (e.g. ``sum b_j beta_jk = 1/2 - gamma`` at order 2).

Evaluation is in float64, so residuals of an exact method are of the
order of the rounding in its coefficients (about 1e-16 times their
magnitude), not zero.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

from batchode.algorithms.tableaus.butcher import ButcherTableau
from batchode.algorithms.tableaus.rosenbrock import RosenbrockTableau

__all__ = [
    "ORDER_TOL",
    "continuous_order_condition_residuals",
    "density",
    "extended_tableau",
    "observed_algebraic_order",
    "order_condition_residuals",
    "rooted_trees",
    "rosenbrock_order_condition_residuals",
    "stage_order",
    "tree_order",
]

# Default absolute tolerance on |Phi(t) - 1/gamma(t)|.  For the
# registered tableaus the float64 residuals of the conditions that hold
# are at most ~1e-15 (coefficient rounding, Tsit5's 16-digit data and
# cancellation among Vern7/DOP853 entries of size up to ~190 included),
# while the smallest residual of a condition that fails is ~1.7e-5
# (Vern7, order 8).  1e-12 sits well inside that gap.
ORDER_TOL = 1e-12

Tree = tuple  # a tuple of child trees; () is the single vertex


def tree_order(tree: Tree) -> int:
    """Number of vertices of a rooted tree."""
    return 1 + sum(tree_order(child) for child in tree)


@lru_cache(maxsize=None)
def rooted_trees(order: int) -> tuple[Tree, ...]:
    """All rooted trees with ``order`` vertices, each exactly once.

    Parameters
    ----------
    order : int
        Number of vertices, ``>= 1``.

    Returns
    -------
    tuple of Tree
        The trees (1, 1, 2, 4, 9, 20, 48, 115, ... of them).
    """
    if order < 1:
        raise ValueError(f"tree order must be >= 1, got {order}")
    if order == 1:
        return ((),)
    return tuple(_forests(order - 1, (order - 1, len(rooted_trees(order - 1)) - 1)))


def _forests(total: int, bound: tuple[int, int]) -> Iterator[Tree]:
    """Multisets of trees with ``total`` vertices in all.

    Each tree is keyed by ``(order, index in rooted_trees(order))``;
    listing the children in non-increasing key order, never above
    ``bound``, yields every multiset exactly once.
    """
    if total == 0:
        yield ()
        return
    for k in range(min(total, bound[0]), 0, -1):
        trees = rooted_trees(k)
        top = bound[1] if k == bound[0] else len(trees) - 1
        for idx in range(top, -1, -1):
            for rest in _forests(total - k, (k, idx)):
                yield (trees[idx], *rest)


@lru_cache(maxsize=None)
def density(tree: Tree) -> int:
    """The density ``gamma(t)`` of a rooted tree."""
    result = tree_order(tree)
    for child in tree:
        result *= density(child)
    return result


def _stage_vector(tree: Tree, a: np.ndarray, c: np.ndarray, cache: dict) -> np.ndarray:
    """``g(t)``: the elementary weight of ``t`` before contraction with b."""
    if tree in cache:
        return cache[tree]
    g = np.ones_like(c)
    for child in tree:
        g = g * (c if child == () else a @ _stage_vector(child, a, c, cache))
    cache[tree] = g
    return g


def _residuals(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, k: int, cache: dict, theta: float = 1.0
) -> Iterator[float]:
    """``|Phi(t) - theta**k / gamma(t)|`` for each tree ``t`` with ``k`` vertices."""
    for t in rooted_trees(k):
        yield abs(b @ _stage_vector(t, a, c, cache) - theta**k / density(t))


def order_condition_residuals(
    a: Sequence[Sequence[float]], b: Sequence[float], c: Sequence[float], p: int, *, theta: float = 1.0
) -> np.ndarray:
    """Largest order-condition residual for each order ``1..p``.

    Parameters
    ----------
    a, b, c : array_like
        Stage matrix (``s x s``), weights and nodes.  ``c`` is used for
        the leaf children, i.e. the row-sum condition ``A 1 = c`` is
        assumed (:class:`ButcherTableau` enforces it).
    p : int
        Highest order to check.
    theta : float, optional
        Fraction of the step at which the solution is formed.  With the
        weights ``b = b(theta)`` of a continuous extension (see
        :mod:`~batchode.algorithms.tableaus.dense_output`) the conditions
        of its order are ``Phi(t) = theta**|t| / gamma(t)``; the default 1
        gives the method's own conditions.

    Returns
    -------
    numpy.ndarray
        Shape ``(p,)``; entry ``k - 1`` is
        ``max |Phi(t) - theta**k / gamma(t)|`` over the trees with ``k``
        vertices.
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (a, b, c)]
    cache: dict = {}
    return np.array([max(_residuals(*arrays, k, cache, theta)) for k in range(1, p + 1)])


def extended_tableau(tableau: ButcherTableau) -> tuple[np.ndarray, np.ndarray]:
    """Stage matrix and nodes of a method followed by its interpolant's extra stages.

    Parameters
    ----------
    tableau : ButcherTableau
        A method with a dense output; the ``E`` extra stages of the
        interpolant (none for most) follow the method's ``s`` stages.

    Returns
    -------
    a, c : numpy.ndarray
        The ``(s + E) x (s + E)`` stage matrix (the method's ``a`` in the
        top-left block, each extra stage's row over the stages before it)
        and the ``s + E`` nodes, in float64: the tableau whose stages the
        interpolant's weights ``b_i(theta)`` combine.

    Raises
    ------
    ValueError
        If the tableau has no dense output.
    """
    dense = tableau.dense_output
    if dense is None:
        raise ValueError(f"tableau {tableau.name!r} has no dense output")
    s = tableau.stages
    a = np.zeros((dense.stages, dense.stages))
    a[:s, :s] = tableau.a
    for r, row in enumerate(dense.extra_a, start=s):
        a[r, : len(row)] = row
    return a, np.concatenate([np.asarray(tableau.c, dtype=np.float64), np.asarray(dense.extra_c, dtype=np.float64)])


def continuous_order_condition_residuals(tableau: ButcherTableau, theta: float, p: int) -> np.ndarray:
    """Largest continuous order-condition residual of a method's dense output, for each order ``1..p``.

    The conditions ``Phi(t) = theta**|t| / gamma(t)`` with the weights
    ``b(theta)`` of :attr:`ButcherTableau.dense_output`, formed on the
    :func:`extended_tableau` (extra stages included).

    Parameters
    ----------
    tableau : ButcherTableau
        A method with a dense output.
    theta : float
        Fraction of the step.
    p : int
        Highest order to check.

    Returns
    -------
    numpy.ndarray
        Shape ``(p,)``, as :func:`order_condition_residuals`.
    """
    a, c = extended_tableau(tableau)
    return order_condition_residuals(a, tableau.dense_output.weights(theta), c, p, theta=theta)


def _rosenbrock_stage_vector(
    tree: Tree, alpha: np.ndarray, beta: np.ndarray, cache: dict
) -> np.ndarray:
    """Rosenbrock ``g(t)``: ``beta`` on single-child vertices, ``alpha`` on branchings."""
    if tree in cache:
        return cache[tree]
    if tree == ():
        g = np.ones(alpha.shape[0])
    elif len(tree) == 1:
        g = beta @ _rosenbrock_stage_vector(tree[0], alpha, beta, cache)
    else:
        g = np.ones(alpha.shape[0])
        for child in tree:
            g = g * (alpha @ _rosenbrock_stage_vector(child, alpha, beta, cache))
    cache[tree] = g
    return g


def _rosenbrock_residuals(
    alpha: np.ndarray, beta: np.ndarray, b: np.ndarray, k: int, cache: dict, theta: float = 1.0
) -> Iterator[float]:
    for t in rooted_trees(k):
        yield abs(b @ _rosenbrock_stage_vector(t, alpha, beta, cache) - theta**k / density(t))


def rosenbrock_order_condition_residuals(
    alpha: Sequence[Sequence[float]],
    gamma: Sequence[Sequence[float]],
    b: Sequence[float],
    p: int,
    *,
    theta: float = 1.0,
) -> np.ndarray:
    """Largest Rosenbrock order-condition residual for each order ``1..p``.

    Parameters
    ----------
    alpha, gamma : array_like
        The ``s x s`` matrices of the standard form (``gamma`` with its
        diagonal).
    b : array_like
        Weights.
    p : int
        Highest order to check.
    theta : float, optional
        Fraction of the step, for the weights ``b = b(theta)`` of an
        interpolant in the standard-form stages (conditions
        ``Phi(t) = theta**|t| / gamma(t)``, as for
        :func:`order_condition_residuals`); 1 by default.

    Returns
    -------
    numpy.ndarray
        Shape ``(p,)``; entry ``k - 1`` is
        ``max |Phi(t) - theta**k / gamma(t)|`` over the trees with ``k``
        vertices, for the exact Jacobian.
    """
    al, ga, w = (np.asarray(x, dtype=np.float64) for x in (alpha, gamma, b))
    cache: dict = {}
    return np.array([max(_rosenbrock_residuals(al, al + ga, w, k, cache, theta)) for k in range(1, p + 1)])


def observed_algebraic_order(
    tableau: ButcherTableau | RosenbrockTableau,
    tol: float = ORDER_TOL,
    *,
    embedded: bool = False,
    max_order: int = 10,
) -> int:
    """Highest ``p`` for which all order conditions up to ``p`` hold.

    Parameters
    ----------
    tableau : ButcherTableau or RosenbrockTableau
        The method (a Rosenbrock tableau is checked with the Rosenbrock
        conditions for the exact Jacobian).
    tol : float, optional
        Absolute tolerance on each residual ``|Phi(t) - 1/gamma(t)|``.
    embedded : bool, optional
        Check the embedded weights ``b_hat`` instead of ``b``.
    max_order : int, optional
        Stop searching here (there are 719 trees of order 10).

    Returns
    -------
    int
        The observed order, ``0`` if even ``sum(b) = 1`` fails.
    """
    weights = tableau.b_hat if embedded else tableau.b
    if weights is None:
        raise ValueError(f"tableau {tableau.name!r} has no embedded weights b_hat")
    cache: dict = {}
    if isinstance(tableau, RosenbrockTableau):
        al, ga, w = (
            np.asarray(x, dtype=np.float64) for x in (tableau.alpha, tableau.gamma, weights)
        )
        residuals = lambda k: _rosenbrock_residuals(al, al + ga, w, k, cache)  # noqa: E731
    else:
        arrays = [np.asarray(x, dtype=np.float64) for x in (tableau.a, weights, tableau.c)]
        residuals = lambda k: _residuals(*arrays, k, cache)  # noqa: E731
    for k in range(1, max_order + 1):
        # Stops at the first violated condition, so high orders are only
        # visited when every lower one holds.
        if any(r > tol for r in residuals(k)):
            return k - 1
    return max_order


def stage_order(tableau: ButcherTableau, tol: float = ORDER_TOL, *, max_order: int = 10) -> int:
    """Largest ``q`` with the simplifying condition ``C(q)``.

    ``C(q)``: ``sum_j a_ij c_j**(k-1) = c_i**k / k`` for every stage ``i``
    and ``k = 1..q`` (each stage value is itself accurate to order ``q``;
    Hairer and Wanner II, Section IV.5).  ``C(1)`` is the row-sum
    condition, so every tableau has ``q >= 1``.

    Parameters
    ----------
    tableau : ButcherTableau
    tol : float, optional
        Absolute tolerance on each residual.
    max_order : int, optional
        Stop searching here.

    Returns
    -------
    int
    """
    a = np.asarray(tableau.a, dtype=np.float64)
    c = np.asarray(tableau.c, dtype=np.float64)
    for k in range(1, max_order + 1):
        if np.max(np.abs(a @ c ** (k - 1) - c**k / k)) > tol:
            return k - 1
    return max_order
