"""What every linear solver shares.

Linear solver contract (built as :class:`LinearSolverBuild`), for the
operator ``M = I - alpha * J(t, y)`` of implicit stages::

    status = prepare(t, y, p, alpha, settings, shared, persistent)
    status, iterations = solve(rhs, x, p, settings, shared, persistent)

1. ``prepare`` fixes the operator: it evaluates or factorises ``M`` (dense
   solvers) or stores the linearisation point (matrix-free solvers) in the
   solver's own LOCAL_PERSISTENT buffers, so that several ``solve`` calls
   (Newton iterations, stages of an SDIRK) reuse it.
2. ``solve`` writes ``x`` with ``M x = rhs`` and returns a status (0, or
   ``Status.LINEAR_SOLVER_FAILED`` for a singular matrix or a Krylov method
   that did not converge) and the iterations it took (1 for a direct solve).
3. The solver reads the system's derivatives through the system factory it
   was given; it does not own the system (the algorithm does).
4. ``settings`` is the solver's block of the run-time values (a Krylov
   solver's tolerance and iteration cap; a direct solver has none and
   ignores it).

Block LU contract (also built as :class:`LinearSolverBuild`), for the diagonal blocks
``M = shift I - dt J`` of a fully implicit Runge-Kutta step's transformed
Newton matrix, whose owner evaluates the Jacobian once for all its blocks::

    status = prepare(jacobian, dt, shift_re, shift_im, shared, persistent)
    status, iterations = solve(rhs, x, p, shared, persistent)

1. ``jacobian`` is ``J`` as the block reads it: all ``n^2`` entries,
   row-major (:class:`~batchode.solvers.linear.dense_lu.DenseBlockLU`, from
   the system's ``jacobian_function``), or the non-zeros in the order of the
   system's ``jacobian_sparsity``
   (:class:`~batchode.solvers.linear.sparse_lu.SparseBlockLU`, from its
   ``jacobian_values_function``); the block's :attr:`jacobian_entries` says
   how many.
2. ``prepare`` forms ``M`` in the block's own LOCAL_PERSISTENT factors and
   factorises it: real ``shift_re I - dt J``, or with ``complex_entries``
   ``(shift_re + i shift_im) I - dt J``. It returns
   ``Status.LINEAR_SOLVER_FAILED`` for a matrix it cannot factorise, else 0.
3. ``solve`` writes ``x`` with ``M x = rhs`` (``p`` is unused; ``rhs`` may be
   ``x``) and returns ``(0, 1)``. Complex vectors hold ``2n`` reals, the
   real parts then the imaginary parts
   (:mod:`batchode.solvers.linear.dense_lu`).
4. A block of ``size`` 0 has no buffers (the owner's tableau does not need it).
"""

from __future__ import annotations

import attrs

from batchode.factory import CUDAFactory


@attrs.frozen
class LinearSolverBuild:
    """Compiled ``prepare`` and ``solve`` device functions (of either contract)."""

    prepare: object
    solve: object

    @property
    def device_function(self):
        return self.solve


@attrs.frozen
class BlockLUSettings:
    """Size of the block (0: the owner needs none, no buffers) and whether its entries are complex."""

    size: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    complex_entries: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    @property
    def parts(self) -> int:
        """Reals per entry: 2 for complex entries, else 1."""
        return 2 if self.complex_entries else 1


class LinearSolver(CUDAFactory):
    """Base of the linear solvers: keeps a reference to the system factory."""

    def __init__(self, system_factory, **kwargs):
        # Set first: check_settings, called by the base's __init__, may ask the system.
        self.system_factory = system_factory
        self.n = system_factory.n_states
        super().__init__(precision=system_factory.precision, backend=system_factory.backend.name, **kwargs)

    def hash_extras(self) -> tuple:
        return (self.system_factory.config_hash,)
