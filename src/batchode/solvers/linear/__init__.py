"""Linear solvers for ``(I - alpha J) x = b``: dense LU, GMRES, minimal residual."""

from __future__ import annotations

import difflib

from batchode.solvers.linear.base import LinearSolver, LinearSolverBuild
from batchode.solvers.linear.dense_lu import DenseLU, DenseMatrixLU
from batchode.solvers.linear.krylov import GMRES, MinimalResidual

LINEAR_SOLVERS = {"dense": DenseLU, "gmres": GMRES, "minres": MinimalResidual}

#: Largest system for which the default is the dense LU, following
#: ARCHITECTURE.md's guidance for small systems; not yet measured here.
DENSE_DEFAULT_MAX_STATES = 8


def make_linear_solver(name, system_factory, **settings) -> LinearSolver:
    """Linear solver ``name`` ("dense", "gmres", "minres"; None: dense for n <= 8, else gmres)."""
    if name is None:
        name = "dense" if system_factory.n_states <= DENSE_DEFAULT_MAX_STATES else "gmres"
    key = str(name).strip().lower()
    if key not in LINEAR_SOLVERS:
        close = difflib.get_close_matches(key, list(LINEAR_SOLVERS), n=2)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown linear_solver {name!r}; expected one of {sorted(LINEAR_SOLVERS)}{hint}")
    return LINEAR_SOLVERS[key](system_factory, **settings)


__all__ = ["DENSE_DEFAULT_MAX_STATES", "DenseLU", "DenseMatrixLU", "GMRES", "LINEAR_SOLVERS", "LinearSolver",
           "LinearSolverBuild", "MinimalResidual", "make_linear_solver"]
