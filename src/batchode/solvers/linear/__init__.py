"""Linear solvers for ``(I - alpha J) x = b``: dense LU, sparse LU, GMRES, minimal residual."""

from __future__ import annotations

import difflib

from batchode.solvers.linear.base import LinearSolver, LinearSolverBuild
from batchode.solvers.linear.dense_lu import DenseLU, DenseMatrixLU
from batchode.solvers.linear.krylov import GMRES, PRECONDITIONERS, MinimalResidual
from batchode.solvers.linear.sparse_lu import SparseLU

LINEAR_SOLVERS = {"dense": DenseLU, "sparse": SparseLU, "gmres": GMRES, "minres": MinimalResidual}
#: The matrix-free (Krylov) solvers among them.
KRYLOV_SOLVERS = ("gmres", "minres")

#: Largest system for which the default is the dense LU, per backend.
#: CPU: measured by ``benchmarks/cpu_linear_solvers.py`` (a stiff chain,
#: kvaerno3): the dense LU beats unpreconditioned GMRES by 3.3-4.3x at every
#: size from 2 to 32 states, so it stays the default up to 32 (beyond, its
#: n**2 Jacobian and compile time grow). CUDA: ARCHITECTURE.md's guidance
#: (8), since the n**2 matrix lives in each thread's local memory; not yet
#: measured on a GPU.
DENSE_DEFAULT_MAX_STATES = {"cpu": 32, "cuda": 8}


def linear_solver_name(name, n_states: int, backend: str) -> str:
    """The linear solver ``name`` ("dense", "sparse", "gmres", "minres", case-insensitive) stands for.

    None: dense up to ``DENSE_DEFAULT_MAX_STATES[backend]`` states, else gmres.

    Raises
    ------
    ValueError
        For an unknown name, suggesting close ones.
    """
    if name is None:
        return "dense" if n_states <= DENSE_DEFAULT_MAX_STATES[backend] else "gmres"
    key = str(name).strip().lower()
    if key not in LINEAR_SOLVERS:
        close = difflib.get_close_matches(key, list(LINEAR_SOLVERS), n=2)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown linear_solver {name!r}; expected one of {sorted(LINEAR_SOLVERS)}{hint}")
    return key


def make_linear_solver(name, system_factory, **settings) -> LinearSolver:
    """Linear solver ``name`` (see :func:`linear_solver_name`) for ``system_factory``.

    ``settings`` are the solver's own (for the Krylov solvers
    :class:`~batchode.solvers.linear.krylov.KrylovSettings`: ``tolerance``,
    ``restart``, ``max_iterations``, ``preconditioner``, ``neumann_terms``).
    """
    key = linear_solver_name(name, system_factory.n_states, system_factory.backend.name)
    return LINEAR_SOLVERS[key](system_factory, **settings)


__all__ = ["DENSE_DEFAULT_MAX_STATES", "DenseLU", "DenseMatrixLU", "GMRES", "KRYLOV_SOLVERS", "LINEAR_SOLVERS",
           "LinearSolver", "LinearSolverBuild", "MinimalResidual", "PRECONDITIONERS", "SparseLU",
           "linear_solver_name", "make_linear_solver"]
