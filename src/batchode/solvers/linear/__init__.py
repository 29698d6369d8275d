"""Linear solvers for ``(I - alpha J) x = b``: dense LU, sparse LU, GMRES, minimal residual."""

from __future__ import annotations

import difflib

from batchode.solvers.linear.base import LinearSolver, LinearSolverBuild
from batchode.solvers.linear.dense_lu import DenseLU, DenseMatrixLU
from batchode.solvers.linear.krylov import GMRES, PRECONDITIONERS, KrylovSettings, MinimalResidual
from batchode.solvers.linear.sparse_lu import SparseLU, sparse_schedule

LINEAR_SOLVERS = {"dense": DenseLU, "sparse": SparseLU, "gmres": GMRES, "minres": MinimalResidual}
#: The matrix-free (Krylov) solvers among them.
KRYLOV_SOLVERS = ("gmres", "minres")

#: Largest system for which the default is the dense LU, per backend, when
#: the sparse LU does not apply (a Python-function system) or costs more.
#: CPU: measured by ``benchmarks/cpu_linear_solvers.py`` (a stiff chain,
#: kvaerno3): the dense LU beats unpreconditioned GMRES by 3.3-4.3x at every
#: size from 2 to 32 states, so it stays the default up to 32 (beyond, its
#: n**2 Jacobian and compile time grow). CUDA: ARCHITECTURE.md's guidance
#: (8), since the n**2 matrix lives in each thread's local memory; not yet
#: measured on a GPU.
DENSE_DEFAULT_MAX_STATES = {"cpu": 32, "cuda": 8}


def dense_lu_operations(n: int) -> int:
    """Multiply-adds of an ``n x n`` LU factorisation: ``sum_k (n - k - 1)**2``, about ``n**3 / 3``."""
    return (n - 1) * n * (2 * n - 1) // 6


def default_linear_solver(system, backend: str) -> str:
    """The linear solver of an implicit method on ``system`` when none is named.

    An equation system (its Jacobian's sparsity known) gets the sparse LU
    when it is the cheaper direct solver:

    - CPU: when its factorisation takes no more multiply-adds than a dense
      LU of ``DENSE_DEFAULT_MAX_STATES["cpu"]`` states, the largest the
      dense LU is chosen for. Measured (``benchmarks/cpu_linear_solvers.py``,
      ``RESULTS.md``): on the Brusselator the sparse LU is 1.4-2x faster than
      the dense one at 2-16 states and 2.8-7.8x at 40-100, with the same
      steps; so it is also faster than GMRES wherever the dense LU is.
    - CUDA: when its per-thread memory (factors and Jacobian values) is no
      more than GMRES's basis (``(restart + 1) n``), since local memory
      traffic is what the GPU pays for; not yet measured on a GPU.

    Otherwise the dense LU up to ``DENSE_DEFAULT_MAX_STATES[backend]`` states,
    else GMRES.
    """
    n = system.n_states
    if system.jacobian_sparsity is not None:
        schedule = sparse_schedule(n, system.jacobian_sparsity)
        if backend == "cuda":
            fits = schedule.stored + len(system.jacobian_sparsity) <= (KrylovSettings().restart + 1) * n
        else:
            fits = schedule.operations <= dense_lu_operations(DENSE_DEFAULT_MAX_STATES[backend])
        if fits:
            return "sparse"
    return "dense" if n <= DENSE_DEFAULT_MAX_STATES[backend] else "gmres"


def linear_solver_name(name, system, backend: str) -> str:
    """The linear solver ``name`` ("dense", "sparse", "gmres", "minres", case-insensitive) stands for.

    None: :func:`default_linear_solver` for ``system`` on ``backend``.

    Raises
    ------
    ValueError
        For an unknown name, suggesting close ones.
    """
    if name is None:
        return default_linear_solver(system, backend)
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
    key = linear_solver_name(name, system_factory.system, system_factory.backend.name)
    return LINEAR_SOLVERS[key](system_factory, **settings)


__all__ = ["DENSE_DEFAULT_MAX_STATES", "DenseLU", "DenseMatrixLU", "GMRES", "KRYLOV_SOLVERS", "LINEAR_SOLVERS",
           "LinearSolver", "LinearSolverBuild", "MinimalResidual", "PRECONDITIONERS", "SparseLU",
           "default_linear_solver", "dense_lu_operations", "linear_solver_name", "make_linear_solver"]
