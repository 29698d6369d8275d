"""Real block diagonalisation of a fully implicit stage matrix (Hairer & Wanner, IV.8).

E. Hairer and G. Wanner, *Solving Ordinary Differential Equations II*,
2nd ed., Springer (1996), Section IV.8 ("Implementation of implicit
Runge-Kutta methods", the transformation of the simplified Newton system
that their code RADAU5 uses): when ``A^-1`` is diagonalisable, a real
matrix ``T`` brings it to the block diagonal form::

    T^-1 A^-1 T = Lambda = diag(gamma_1, ..., gamma_r, P_1, ..., P_m),
    P_k = [[alpha_k, -beta_k], [beta_k, alpha_k]],   beta_k > 0,

one entry ``gamma`` per real eigenvalue of ``A^-1`` and one ``2 x 2``
block per complex pair ``alpha +- i beta``, so that in the variables
``W = (T^-1 kron I) Z`` the ``s n`` Newton system of a step decouples into
one ``n x n`` system per real eigenvalue and one ``2n x 2n`` real system
per pair.  The Radau IIA and Gauss methods with ``s`` stages have
``s mod 2`` real eigenvalues and ``s // 2`` complex pairs (HW II, IV.8).

``T`` is computed here with numpy from the tableau's ``a``: a real
eigenvector ``v`` gives one column; the eigenvector ``u + i w`` of
``alpha - i beta`` gives the two columns ``u, w`` (then
``A^-1 u = alpha u + beta w`` and ``A^-1 w = -beta u + alpha w``, the
block ``P`` above).  Each eigenvector is scaled so that its entry of
largest modulus is 1, which fixes ``T`` independently of the LAPACK
phase; any scaling gives the same iteration up to round-off.  For
``radau-iia-5`` the eigenvalues agree with RADAU5's constants ``U1``,
``ALPH`` and ``BETA`` (checked in the tests).
"""

from __future__ import annotations

import functools

import attrs
import numpy as np

__all__ = ["MAX_TRANSFORMATION_CONDITION", "StageTransformation", "stage_transformation"]

#: ``T`` (or ``A``) with a condition number above this is treated as not
#: diagonalisable (or singular): the transformed iteration would lose
#: accuracy to round-off.
MAX_TRANSFORMATION_CONDITION = 1e8

#: Relative size of an imaginary part below which an eigenvalue is real.
_REAL_TOLERANCE = 1e-12


def _matrix(rows) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in rows)


@attrs.frozen
class StageTransformation:
    """``T^-1 A^-1 T = Lambda`` for a stage matrix ``A`` (see the module docstring).

    Attributes
    ----------
    transform, inverse : tuple of tuple of float
        ``T`` and ``T^-1`` (``s x s``); the columns of ``T`` are ordered as
        the blocks: the real eigenvalues first, then two columns per pair.
    real : tuple of float
        ``gamma_1, ..., gamma_r``, the real eigenvalues of ``A^-1``.
    pairs : tuple of (float, float)
        ``(alpha_k, beta_k)``, ``beta_k > 0``, one per complex pair.
    """

    transform: tuple = attrs.field(converter=_matrix)
    inverse: tuple = attrs.field(converter=_matrix)
    real: tuple = attrs.field(converter=lambda values: tuple(float(v) for v in values))
    pairs: tuple = attrs.field(converter=lambda values: tuple((float(a), float(b)) for a, b in values))

    def __attrs_post_init__(self) -> None:
        s = len(self.transform)
        if len(self.real) + 2 * len(self.pairs) != s:
            raise ValueError(f"{len(self.real)} real eigenvalues and {len(self.pairs)} pairs "
                             f"do not make {s} stages")
        if any(beta <= 0.0 for _, beta in self.pairs):
            raise ValueError("each pair needs beta > 0")

    @property
    def block_matrix(self) -> np.ndarray:
        """``Lambda``, the block diagonal form of ``A^-1``."""
        s = len(self.transform)
        blocks = np.zeros((s, s))
        r = len(self.real)
        blocks[range(r), range(r)] = self.real
        for k, (alpha, beta) in enumerate(self.pairs):
            i = r + 2 * k
            blocks[i:i + 2, i:i + 2] = [[alpha, -beta], [beta, alpha]]
        return blocks


def _unit_largest(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled so that its entry of largest modulus is 1."""
    return vector / vector[np.argmax(np.abs(vector))]


@functools.cache
def stage_transformation(a: tuple) -> StageTransformation | None:
    """The real block diagonalisation of ``A^-1`` for a stage matrix ``a`` (a tuple of rows).

    Returns None when ``a`` is singular or ``A^-1`` is not diagonalisable
    with a transformation of condition number at most
    :data:`MAX_TRANSFORMATION_CONDITION` (a repeated, defective eigenvalue).
    """
    matrix = np.array(a, dtype=float)
    if np.linalg.cond(matrix) > MAX_TRANSFORMATION_CONDITION:
        return None
    eigenvalues, vectors = np.linalg.eig(np.linalg.inv(matrix))
    scale = np.abs(eigenvalues).max()
    is_real = np.abs(eigenvalues.imag) <= _REAL_TOLERANCE * scale
    real = [i for i in np.argsort(eigenvalues.real) if is_real[i]]
    # One of each conjugate pair: the member alpha - i beta (see the module docstring).
    lower = [i for i in np.argsort(eigenvalues.real) if not is_real[i] and eigenvalues[i].imag < 0]
    columns = [_unit_largest(vectors[:, i].real) for i in real]
    for i in lower:
        vector = _unit_largest(vectors[:, i])
        columns += [vector.real, vector.imag]
    if len(columns) != len(matrix):
        return None
    transform = np.column_stack(columns)
    if np.linalg.cond(transform) > MAX_TRANSFORMATION_CONDITION:
        return None
    return StageTransformation(
        transform=transform, inverse=np.linalg.inv(transform), real=eigenvalues[real].real,
        pairs=[(eigenvalues[i].real, -eigenvalues[i].imag) for i in lower])
