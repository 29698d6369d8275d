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

Block group contract (built as :class:`LinearSolverBuild` by the block
class's ``together(members)``, from :class:`BlockMember` s of its own
kind), for an owner with several blocks on one Jacobian::

    status = prepare(jacobian, dt, shared, persistent)
    solve(rhs, x, p, shared, persistent)

5. ``shared`` and ``persistent`` are the owner's; each member reaches its
   own buffers through its ``view``. ``prepare`` forms and factorises every
   member's matrix with its own shift and returns the first non-zero
   status, else 0. ``solve`` solves each member's system on its slice of
   ``rhs`` and ``x`` (from its ``offset``; ``rhs`` may be ``x``).
6. How the work interleaves is the class's choice: the dense LU's blocks
   go one after another (:func:`blocks_in_turn`), the sparse LU's
   straight-line code runs them in lockstep, so their latency chains
   overlap. Each member's results are those of its own ``prepare`` and
   ``solve``, bit for bit.
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


@attrs.frozen
class BlockMember:
    """One block of a group (block group contract): its block LU ``factory``, the ``view`` from the owner's
    buffers to its own (``BufferRegistry.child_view``), its shift ``shift_re + i shift_im`` and where its
    vector starts in the group's (``offset``)."""

    factory: object
    view: object
    shift_re: float
    shift_im: float
    offset: int


def blocks_in_turn(members) -> LinearSolverBuild:
    """The block group contract from each member's own ``prepare`` and ``solve``, one block after another."""
    device = members[0].factory.backend.device_function

    def prepare_none(jacobian, dt, shared, persistent):
        return 0

    def solve_none(rhs, x, p, shared, persistent):
        pass

    group = LinearSolverBuild(device(prepare_none), device(solve_none))
    for member in reversed(members):
        group = _member_then(member, group)
    return group


def _member_then(member, rest: LinearSolverBuild) -> LinearSolverBuild:
    """Device functions doing ``member``'s block, then ``rest``'s."""
    factory, view = member.factory, member.view
    own_prepare, own_solve = factory.built.prepare, factory.built.solve
    dtype = factory.precision.type
    shift_re, shift_im = dtype(member.shift_re), dtype(member.shift_im)
    start = member.offset
    stop = start + factory.settings.parts * factory.settings.size
    prepare_rest, solve_rest = rest.prepare, rest.solve

    def prepare(jacobian, dt, shared, persistent):
        own_shared, own_persistent = view(shared, persistent)
        status = own_prepare(jacobian, dt, shift_re, shift_im, own_shared, own_persistent)
        if status != 0:
            return status
        return prepare_rest(jacobian, dt, shared, persistent)

    def solve(rhs, x, p, shared, persistent):
        own_shared, own_persistent = view(shared, persistent)
        own_solve(rhs[start:stop], x[start:stop], p, own_shared, own_persistent)
        solve_rest(rhs, x, p, shared, persistent)

    device = factory.backend.device_function
    return LinearSolverBuild(device(prepare), device(solve))

