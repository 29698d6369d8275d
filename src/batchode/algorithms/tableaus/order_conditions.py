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

Reference: J. C. Butcher, *Numerical Methods for Ordinary Differential
Equations*, 3rd ed., Wiley, 2016, Chapter 3 (Sections 300-315); E.
Hairer, S. P. Norsett, G. Wanner, *Solving Ordinary Differential
Equations I*, 2nd ed., Springer, 1993, Section II.2.

Evaluation is in float64, so residuals of an exact method are of the
order of the rounding in its coefficients (about 1e-16 times their
magnitude), not zero.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = [
    "ORDER_TOL",
    "density",
    "observed_algebraic_order",
    "order_condition_residuals",
    "rooted_trees",
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
    a: np.ndarray, b: np.ndarray, c: np.ndarray, k: int, cache: dict
) -> Iterator[float]:
    """``|Phi(t) - 1/gamma(t)|`` for each tree ``t`` with ``k`` vertices."""
    for t in rooted_trees(k):
        yield abs(b @ _stage_vector(t, a, c, cache) - 1.0 / density(t))


def order_condition_residuals(
    a: Sequence[Sequence[float]], b: Sequence[float], c: Sequence[float], p: int
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

    Returns
    -------
    numpy.ndarray
        Shape ``(p,)``; entry ``k - 1`` is ``max |Phi(t) - 1/gamma(t)|``
        over the trees with ``k`` vertices.
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (a, b, c)]
    cache: dict = {}
    return np.array([max(_residuals(*arrays, k, cache)) for k in range(1, p + 1)])


def observed_algebraic_order(
    tableau: ButcherTableau,
    tol: float = ORDER_TOL,
    *,
    embedded: bool = False,
    max_order: int = 10,
) -> int:
    """Highest ``p`` for which all order conditions up to ``p`` hold.

    Parameters
    ----------
    tableau : ButcherTableau
        The method.
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
        raise ValueError(f"Butcher tableau {tableau.name!r} has no embedded weights b_hat")
    arrays = [np.asarray(x, dtype=np.float64) for x in (tableau.a, weights, tableau.c)]
    cache: dict = {}
    for k in range(1, max_order + 1):
        # Stops at the first violated condition, so high orders are only
        # visited when every lower one holds.
        if any(r > tol for r in _residuals(*arrays, k, cache)):
            return k - 1
    return max_order
