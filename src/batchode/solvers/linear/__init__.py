"""Linear solvers for ``(I - alpha J) x = b``: dense LU, sparse LU, GMRES, minimal residual."""

from __future__ import annotations

import difflib

import numpy as np

from batchode.solvers.linear.base import LinearSolver, LinearSolverBuild
from batchode.solvers.linear.dense_lu import DenseBlockLU, DenseLU
from batchode.solvers.linear.krylov import GMRES, PRECONDITIONERS, KrylovSettings, MinimalResidual
from batchode.solvers.linear.sparse_lu import SparseBlockLU, SparseLU, sparse_schedule

LINEAR_SOLVERS = {"dense": DenseLU, "sparse": SparseLU, "gmres": GMRES, "minres": MinimalResidual}
#: The block LUs of a fully implicit step (which has no matrix-free path), by ``linear_solver`` name.
BLOCK_SOLVERS = {"dense": DenseBlockLU, "sparse": SparseBlockLU}
#: The matrix-free (Krylov) solvers among them.
KRYLOV_SOLVERS = ("gmres", "minres")

#: Largest system for which the default is the dense LU, per backend and
#: precision, when the sparse LU does not apply (a Python-function system)
#: or costs more; above it, GMRES. CPU: measured by
#: ``benchmarks/cpu_linear_solvers.py`` (1-D Brusselator, rodas5p and
#: kvaerno5, n = 8-64, ``RESULTS.md``): in float64 the dense LU beats GMRES
#: at every size up to 64 (rodas5p: 2.8x at 8, 1.7x at 32, even at 64;
#: kvaerno5: 3.7x, 3.1x, 2.1x); in float32, where GMRES's tolerance floor
#: is looser, it still wins at 32 (1.24x, 1.8x) but rodas5p's GMRES is
#: 1.35x faster at 64. CUDA: ARCHITECTURE.md's guidance (8), since the n**2
#: matrix lives in each thread's local memory; not yet measured on a GPU.
DENSE_DEFAULT_MAX_STATES = {("cpu", "float64"): 64, ("cpu", "float32"): 32,
                            ("cuda", "float64"): 8, ("cuda", "float32"): 8}


def dense_limit(backend: str, precision) -> int:
    """:data:`DENSE_DEFAULT_MAX_STATES` for ``backend`` and ``precision`` (a numpy dtype or its name)."""
    return DENSE_DEFAULT_MAX_STATES[backend, np.dtype(precision).name]


def dense_lu_operations(n: int) -> int:
    """Multiply-adds of an ``n x n`` LU factorisation: ``sum_k (n - k - 1)**2``, about ``n**3 / 3``."""
    return (n - 1) * n * (2 * n - 1) // 6


def default_linear_solver(system, backend: str, precision) -> str:
    """The linear solver of an implicit method on ``system`` when none is named.

    An equation system (its Jacobian's sparsity known) gets the sparse LU
    when it is the cheaper direct solver:

    - CPU: when its factorisation takes no more multiply-adds than a dense
      LU of :func:`dense_limit` states, the largest the dense LU is chosen
      for. Measured (``benchmarks/cpu_linear_solvers.py``, ``RESULTS.md``):
      on the Brusselator the sparse LU beats the dense one at every size
      (1.1-1.5x at 8 states, 2.3-4.4x at 64, both precisions, rodas5p and
      kvaerno5) with the same steps, and so GMRES wherever the dense LU does.
    - CUDA: when its per-thread memory (factors and Jacobian values) is no
      more than GMRES's basis (``(restart + 1) n``), since local memory
      traffic is what the GPU pays for; not yet measured on a GPU.

    Otherwise the dense LU up to :func:`dense_limit` states, else GMRES.
    """
    n, limit = system.n_states, dense_limit(backend, precision)
    if system.jacobian_sparsity is not None:
        schedule = sparse_schedule(n, system.jacobian_sparsity)
        if backend == "cuda":
            fits = schedule.stored + len(system.jacobian_sparsity) <= (KrylovSettings().restart + 1) * n
        else:
            fits = schedule.operations <= dense_lu_operations(limit)
        if fits:
            return "sparse"
    return "dense" if n <= limit else "gmres"


def default_block_solver(system) -> str:
    """The block LU of a fully implicit step on ``system`` when none is named.

    "sparse" for an equation system (its Jacobian's pattern known): its
    elimination never takes more multiply-adds or memory than the dense LU
    of the same size (a full pattern gives exactly the dense LU's work), and
    measured on the CPU it ran as fast or faster and built sooner at every
    size (2-100 states, ``benchmarks/RESULTS.md``). "dense" for a Python
    function system, whose pattern is unknown.
    """
    return "dense" if system.jacobian_sparsity is None else "sparse"


def block_solver_name(name, system, method: str) -> str:
    """The block LU ("dense" or "sparse", case-insensitive) of fully implicit ``method`` on ``system``.

    None: :func:`default_block_solver`.

    Raises
    ------
    ValueError
        For any other name, Krylov solvers included.
    """
    if name is None:
        return default_block_solver(system)
    key = str(name).strip().lower()
    if key not in BLOCK_SOLVERS:
        raise ValueError(f"linear_solver={name!r} does not apply to method {method!r}, which solves its coupled "
                         "stages with one LU per block of its Newton matrix (use 'dense', 'sparse' or None)")
    return key


def linear_solver_name(name, system, backend: str, precision) -> str:
    """The linear solver ``name`` ("dense", "sparse", "gmres", "minres", case-insensitive) stands for.

    None: :func:`default_linear_solver` for ``system`` on ``backend`` in ``precision``.

    Raises
    ------
    ValueError
        For an unknown name, suggesting close ones.
    """
    if name is None:
        return default_linear_solver(system, backend, precision)
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
    key = linear_solver_name(name, system_factory.system, system_factory.backend.name, system_factory.precision)
    return LINEAR_SOLVERS[key](system_factory, **settings)


__all__ = ["BLOCK_SOLVERS", "DENSE_DEFAULT_MAX_STATES", "DenseBlockLU", "DenseLU", "GMRES", "KRYLOV_SOLVERS",
           "LINEAR_SOLVERS", "LinearSolver", "LinearSolverBuild", "MinimalResidual", "PRECONDITIONERS", "SparseBlockLU",
           "SparseLU", "block_solver_name", "default_block_solver", "default_linear_solver", "dense_limit",
           "dense_lu_operations", "linear_solver_name", "make_linear_solver"]
