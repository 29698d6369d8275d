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
"""

from __future__ import annotations

import attrs

from batchode.factory import CUDAFactory


@attrs.frozen
class LinearSolverBuild:
    """Compiled ``prepare`` and ``solve`` device functions."""

    prepare: object
    solve: object

    @property
    def device_function(self):
        return self.solve


class LinearSolver(CUDAFactory):
    """Base of the linear solvers: keeps a reference to the system factory."""

    def __init__(self, system_factory, **kwargs):
        # Set first: check_settings, called by the base's __init__, may ask the system.
        self.system_factory = system_factory
        self.n = system_factory.n_states
        super().__init__(precision=system_factory.precision, backend=system_factory.backend.name, **kwargs)

    def hash_extras(self) -> tuple:
        return (self.system_factory.config_hash,)
