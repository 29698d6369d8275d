"""Sparse LU of ``M = I - alpha J`` whose fill-in is fixed when the solver is built.

An equation system knows which entries of its Jacobian can be non-zero
(:attr:`~batchode.systems.system.ODESystem.jacobian_sparsity`). Everything
that depends only on that structure is worked out once, in Python, when the
solver is built (:func:`sparse_schedule`):

1. **Ordering.** The pattern ``S`` (the Jacobian's non-zeros and the whole
   diagonal, since ``M`` has ``1`` there) is permuted symmetrically, ``P M
   P^T``, to reduce the fill-in, by the minimum-degree algorithm on the
   graph of ``S + S^T`` (:func:`minimum_degree_order`).
2. **Symbolic factorisation without pivoting.** Pivots stay on the
   diagonal (static pivoting), so the structure ``F`` of ``L + U`` follows
   from ``S`` alone (:func:`symbolic_factorisation`).
3. **A schedule**: integer arrays saying where each Jacobian value goes in
   ``F``, which entries each elimination step updates, and how the
   substitutions walk the factors.

The device functions are that schedule unrolled into straight-line code
(:mod:`batchode.solvers.linear.sparse_code`: every index a constant, every
value in a register, twice as fast as loops over the schedule's arrays),
emitted as LLVM instructions rather than compiled from Python source, so
the code grows with the fill and the operation count, not with ``n^2``,
and costs milliseconds to generate.

Static pivoting suits ``I - alpha J``: as the step (and so ``alpha``)
shrinks, ``M`` tends to ``I``, which is diagonally dominant and needs no
pivoting at all (Gaussian elimination on a diagonally dominant matrix does
not grow its entries by more than a factor 2, a result of Wilkinson's: see
Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., chapter
9, on diagonally dominant matrices). A pivot that is
zero or lost in rounding makes ``prepare`` return
``Status.LINEAR_SOLVER_FAILED``, and the step is retried smaller.

Contract: that of :mod:`batchode.solvers.linear.base`; ``solve``'s ``rhs``
and ``x`` may be the same array (as for the dense LU).
"""

from __future__ import annotations

import functools
import heapq

import attrs
import numpy as np

from batchode.solvers.linear.base import BlockLUSettings, LinearSolver, LinearSolverBuild
from batchode.solvers.linear.sparse_code import (block_offsets, factorise_intrinsic, python_functions,
                                                  substitute_intrinsic)

#: Why a system without a known sparsity pattern is refused.
NEEDS_SPARSITY = ("linear_solver='sparse' needs an equation system (ODESystem.from_equations) whose Jacobian "
                  "sparsity is known; this system is a Python function: use linear_solver='dense' or 'gmres'")


def symmetric_graph(n: int, pattern) -> list[set[int]]:
    """Neighbours of each of ``n`` vertices in the graph of ``pattern + pattern^T`` (no self-loops)."""
    adjacency = [set() for _ in range(n)]
    for i, j in pattern:
        if i != j:
            adjacency[i].add(j)
            adjacency[j].add(i)
    return adjacency


def minimum_degree_order(n: int, pattern) -> tuple[int, ...]:
    """A fill-reducing elimination order of the symmetric graph of ``pattern``: greedy minimum degree.

    At each step the vertex of least degree in the current elimination
    graph is eliminated (the smallest index among ties, so the order is
    reproducible) and its neighbours become a clique, the fill its
    elimination causes: Tinney & Walker's scheme 2 (Proc. IEEE 55 (1967)
    1801-1809), as described by George & Liu, *The evolution of the minimum
    degree ordering algorithm*, SIAM Review 31 (1989) 1-19. The graph is
    kept explicitly (no quotient graph): enough for the tens to thousands
    of states of one trajectory's system.

    Chosen over reverse Cuthill-McKee (Cuthill & McKee 1969, reversed by
    George 1971, started from George & Liu's 1979 pseudo-peripheral
    vertex), measured on the fill (entries of ``L + U`` not in the pattern
    with its diagonal): on the 1-D Brusselator (states ``u_1 .. u_N, v_1 ..
    v_N``, natural bandwidth ``N``) both find the interleaved order of
    bandwidth 2, 98 fill entries at 100 states against 4,802 unordered;
    on random patterns of 3 non-zeros a row, minimum degree leaves 1,154
    at 100 states and 18,720 at 400, reverse Cuthill-McKee 1,965 and 34,095
    (unordered: 1,925 and 39,726).

    Parameters
    ----------
    n : int
        Vertices (states).
    pattern : iterable of (int, int)
        Structural non-zeros; the graph is that of ``pattern + pattern^T``.

    Returns
    -------
    tuple of int
        ``order[k]`` is the vertex eliminated ``k``-th.
    """
    adjacency = symmetric_graph(n, pattern)
    # A heap of (degree, vertex) with stale entries skipped when popped:
    # eliminating a vertex changes only its neighbours' degrees.
    heap = [(len(neighbours), v) for v, neighbours in enumerate(adjacency)]
    heapq.heapify(heap)
    eliminated = [False] * n
    order = []
    while heap:
        degree, v = heapq.heappop(heap)
        if eliminated[v] or degree != len(adjacency[v]):
            continue
        eliminated[v] = True
        order.append(v)
        neighbours = adjacency[v]
        for u in neighbours:
            adjacency[u] |= neighbours
            adjacency[u] -= {u, v}
            heapq.heappush(heap, (len(adjacency[u]), u))
    return tuple(order)


def symbolic_factorisation(n: int, rows) -> list[list[int]]:
    """The structure of ``L + U`` of a matrix with row structures ``rows``, eliminated without pivoting.

    Row ``i`` of the factors is row ``i`` of the matrix merged with the
    strictly upper part of every row ``k < i`` in its own strictly lower
    part, fill included, taken by increasing ``k`` (row-by-row Gaussian
    elimination: George & Liu, *Computer Solution of Large Sparse Positive
    Definite Systems*, 1981, section 2.3, without their symmetry). Exact
    unless values cancel.

    Parameters
    ----------
    n : int
    rows : sequence of iterables of int
        The columns of each row's structural non-zeros; every diagonal
        entry must be among them.

    Returns
    -------
    list of list of int
        The sorted columns of each row of ``L + U``.
    """
    upper = []
    factors = []
    for i in range(n):
        row = set(rows[i])
        pending = [k for k in row if k < i]
        heapq.heapify(pending)
        while pending:  # fill entries j < i join the merge, in order, as they appear
            k = heapq.heappop(pending)
            for j in upper[k]:
                if j not in row:
                    row.add(j)
                    if j < i:
                        heapq.heappush(pending, j)
        columns = sorted(row)
        factors.append(columns)
        upper.append([j for j in columns if j > i])
    return factors


def _constant(values) -> np.ndarray:
    """``values`` as a read-only int32 array: a schedule is shared (cached) and never changes."""
    array = np.ascontiguousarray(values, dtype=np.int32)
    array.flags.writeable = False
    return array


@attrs.frozen(eq=False)
class SparseSchedule:
    """The elimination of ``P M P^T`` worked out from the structure alone (:func:`sparse_schedule`).

    The factors are stored row by row (compressed sparse rows) in the
    permuted numbering: row ``a`` holds entries ``row_start[a]`` to
    ``row_start[a + 1] - 1``, by increasing column, its pivot at
    ``diagonal[a]``; the entries before it are ``L``'s multipliers (``L``
    has a unit diagonal), the others ``U``'s. Every array is int32.

    Attributes
    ----------
    order : numpy.ndarray
        ``order[a]``: the state of row and column ``a`` of ``P M P^T``.
    row_start : numpy.ndarray
        ``n + 1`` offsets of the rows in the factors.
    diagonal : numpy.ndarray
        Position of each row's pivot.
    columns : numpy.ndarray
        Permuted column of each stored entry.
    scatter : numpy.ndarray
        Position in the factors of each Jacobian non-zero, in the order of
        the system's ``jacobian_sparsity``.
    targets : numpy.ndarray
        The entry each multiply-add of the elimination updates, in the
        order they are done (see :class:`SparseLU`); its length is the
        operation count.
    pattern_entries : int
        Entries of ``S``: the Jacobian's non-zeros and the diagonal.
    """

    order: np.ndarray
    row_start: np.ndarray
    diagonal: np.ndarray
    columns: np.ndarray
    scatter: np.ndarray
    targets: np.ndarray
    pattern_entries: int

    @property
    def n(self) -> int:
        return self.order.size

    @property
    def stored(self) -> int:
        """Entries of ``L + U``: the size of the ``factors`` buffer."""
        return self.columns.size

    @property
    def fill(self) -> int:
        """Entries of ``L + U`` that are not in ``S`` (fill-in)."""
        return self.stored - self.pattern_entries

    @property
    def operations(self) -> int:
        """Multiply-adds of one factorisation (the multipliers not counted)."""
        return self.targets.size


@functools.lru_cache(maxsize=64)
def sparse_schedule(n: int, sparsity: tuple[tuple[int, int], ...]) -> SparseSchedule:
    """The :class:`SparseSchedule` of ``I - alpha J`` for a Jacobian with non-zeros ``sparsity``.

    Parameters
    ----------
    n : int
        States.
    sparsity : tuple of (int, int)
        The Jacobian's structural non-zeros (``ODESystem.jacobian_sparsity``).

    Returns
    -------
    SparseSchedule
        Cached: solvers of one system share it.
    """
    pattern = set(sparsity) | {(i, i) for i in range(n)}
    order = minimum_degree_order(n, pattern)
    position = [0] * n  # position[state] = its row and column in P M P^T
    for a, state in enumerate(order):
        position[state] = a
    rows = [[] for _ in range(n)]
    for i, j in pattern:
        rows[position[i]].append(position[j])
    factors = symbolic_factorisation(n, rows)
    row_start = np.cumsum([0] + [len(row) for row in factors])
    index = {(a, b): int(row_start[a]) + k for a, row in enumerate(factors) for k, b in enumerate(row)}
    diagonal = [index[a, a] for a in range(n)]
    # Row-by-row elimination: for each multiplier (a, k) of row a, by
    # increasing k, row a's entries in the columns of U's row k are updated,
    # in the order U's row k stores them.
    targets = [index[a, j] for a, row in enumerate(factors) for k in row if k < a for j in factors[k] if j > k]
    columns = [b for row in factors for b in row]
    return SparseSchedule(
        order=_constant(order),
        row_start=_constant(row_start),
        diagonal=_constant(diagonal),
        columns=_constant(columns),
        scatter=_constant([index[position[i], position[j]] for i, j in sparsity]),
        targets=_constant(targets),
        pattern_entries=len(pattern),
    )


def sparse_lu_device_functions(backend, precision, schedule: SparseSchedule, kinds: tuple = (False,)):
    """``(factorise, substitute)`` device functions on ``schedule`` for blocks of ``kinds`` (True: complex entries).

    ``status = factorise(values, alpha, shifts, factors)`` forms, for each
    block ``k``, ``P M_k P^T`` with ``M_k = shift_k I - alpha J`` in
    ``factors[k]`` from the Jacobian's non-zeros ``values`` (``shift_k =
    shifts[2k]``, or ``shifts[2k] + i shifts[2k + 1]`` for complex entries)
    and overwrites it with its LU factors (see :class:`SparseLU`);
    ``substitute(factors, rhs, x)`` solves with them in the states' own
    numbering, block ``k``'s vector after block ``k - 1``'s (``rhs`` may be
    ``x``). ``factors`` is a tuple of arrays and ``shifts`` of scalars.
    Complex factors hold ``2 stored`` reals and complex vectors ``2n``: real
    parts, then imaginary parts. Both are straight-line code emitted from
    the schedule, the blocks in lockstep
    (:mod:`batchode.solvers.linear.sparse_code`).
    """
    eps = float(np.finfo(precision).eps)
    if backend.is_simulator:  # runs device code as Python: the same arithmetic, interpreted
        factorise_code, substitute_code = python_functions(schedule, kinds, eps)
    else:
        # On the CPU each is one function however many places call it (LLVM
        # would optimise every inlined copy again); CUDA inlines them, keeping
        # the constant offsets of the factors (not yet measured on a GPU).
        out_of_line = backend.name == "cpu"
        factorise_code = factorise_intrinsic(schedule, kinds, eps, out_of_line)
        substitute_code = substitute_intrinsic(schedule, kinds, out_of_line)

    def factorise(values, alpha, shifts, factors):
        return factorise_code(values, alpha, shifts, factors)

    def substitute(factors, rhs, x):
        substitute_code(factors, rhs, x)

    device = backend.device_function
    return device(factorise, inline=False), device(substitute, inline=False)


class _PatternSolver(LinearSolver):
    """What the sparse solvers share: a system whose Jacobian pattern is known, and that pattern's schedule."""

    def check_settings(self, settings) -> None:
        if self.system_factory.system.jacobian_sparsity is None:
            raise ValueError(NEEDS_SPARSITY)

    @property
    def schedule(self) -> SparseSchedule:
        """The elimination schedule of this system's pattern (:func:`sparse_schedule`)."""
        return sparse_schedule(self.n, self.system_factory.system.jacobian_sparsity)


class SparseLU(_PatternSolver):
    """Direct solver of ``(I - alpha J) x = b`` on the Jacobian's sparsity pattern (see the module docstring).

    Buffers: ``factors`` (LOCAL_PERSISTENT, the entries of ``L + U``:
    :attr:`SparseSchedule.stored`, so a factorisation survives from
    ``prepare`` to the ``solve`` calls) and ``jacobian_values`` (LOCAL, the
    Jacobian's non-zeros; none when it has none).

    ``prepare`` evaluates the non-zeros (``jacobian_values`` of the system),
    scatters ``-alpha J`` into the factors, adds ``1`` on the diagonal, and
    eliminates row by row: for each multiplier ``l_ak = m_ak / u_kk`` of row
    ``a`` (by increasing ``k``), ``m_aj -= l_ak u_kj`` for every ``j`` in
    ``U``'s row ``k``. Each pivot's reciprocal is stored in its place, so
    the substitutions multiply instead of dividing.

    A pivot with ``|u_aa| <= eps * sum_j |m_aj|`` (row ``a`` of ``M`` as
    formed, before elimination; ``eps`` of the working precision) fails the
    factorisation with ``Status.LINEAR_SOLVER_FAILED``. Forming ``M`` in
    the working precision already perturbs that row by about this much, so
    such a pivot, zero included, has no significant digit left: dividing by
    it would return rounding noise amplified without bound. Dense LU would
    swap in another row; static pivoting cannot, so the step is retried
    smaller, where ``M`` is closer to ``I``. The test is relative to the
    row, so scaling a row of the system (units) does not change it.

    Raises
    ------
    ValueError
        For a system without a known sparsity pattern (a Python function).
    """

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        # Sizes are callables: the schedule (SymPy's sparsity, then the
        # ordering) is worked out when a layout or a hash first needs it.
        self.register_buffer("factors", "local_persistent", lambda: self.schedule.stored)
        self.register_buffer("jacobian_values", "local", lambda: len(self.system_factory.system.jacobian_sparsity))

    def build(self) -> LinearSolverBuild:
        one, zero = self.precision.type(1.0), self.precision.type(0.0)
        jacobian_values = self.system_factory.jacobian_values_function
        factorise, substitute = sparse_lu_device_functions(self.backend, self.precision, self.schedule)
        buffers = self.buffer_registry.buffers
        alloc_factors, alloc_values = buffers["factors"].allocate(), buffers["jacobian_values"].allocate()
        device = self.backend.device_function

        def prepare(t, y, p, alpha, settings, shared, persistent):
            values = alloc_values(shared, persistent)
            jacobian_values(t, y, p, values)
            return factorise(values, alpha, (one, zero), (alloc_factors(shared, persistent),))

        def solve(rhs, x, p, settings, shared, persistent):
            substitute((alloc_factors(shared, persistent),), rhs, x)
            return 0, 1

        return LinearSolverBuild(device(prepare), device(solve))


class SparseBlockLU(_PatternSolver):
    """Sparse LU of a block ``shift I - dt J`` (the block LU contract of
    :mod:`batchode.solvers.linear.base`) on the Jacobian's sparsity pattern,
    ``J`` given as its non-zeros in the order of the system's
    ``jacobian_sparsity``: the elimination of :class:`SparseLU` on the same
    schedule, with real or complex entries.

    A complex block (``(alpha + i beta) I - dt J`` of a fully implicit
    step) has a real ``J``: only the diagonal's imaginary parts are
    non-zero before the elimination, but the factors are complex, so they
    take ``2 stored`` reals.

    Buffers: ``factors`` (LOCAL_PERSISTENT, :attr:`SparseSchedule.stored`
    entries, twice that for complex ones), disabled when ``size`` is 0.

    Parameters
    ----------
    system_factory : SystemFactory
        The system whose pattern is factorised; ``size`` must be 0 or its ``n_states``.

    Raises
    ------
    ValueError
        For a system without a known sparsity pattern, or another ``size``.
    """

    Settings = BlockLUSettings

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        self.register_buffer("factors", "local_persistent", lambda: self.settings.parts * self.schedule.stored,
                             enabled=lambda: self.settings.size > 0)

    def check_settings(self, settings) -> None:
        super().check_settings(settings)
        if settings.size not in (0, self.n):
            raise ValueError(f"a sparse block of {self.n} states has size {settings.size}; expected 0 or {self.n}")

    @property
    def jacobian_entries(self) -> int:
        """Entries of the ``jacobian`` argument of ``prepare``: the Jacobian's non-zeros."""
        return len(self.system_factory.system.jacobian_sparsity)

    def build(self) -> LinearSolverBuild:
        factorise, substitute = sparse_lu_device_functions(self.backend, self.precision, self.schedule,
                                                           (self.settings.complex_entries,))
        alloc_factors = self.buffer_registry.buffers["factors"].allocate()
        device = self.backend.device_function

        def prepare(jacobian, dt, shift_re, shift_im, shared, persistent):
            return factorise(jacobian, dt, (shift_re, shift_im), (alloc_factors(shared, persistent),))

        def solve(rhs, x, p, shared, persistent):
            substitute((alloc_factors(shared, persistent),), rhs, x)
            return 0, 1

        return LinearSolverBuild(device(prepare), device(solve))

    @staticmethod
    def together(members) -> LinearSolverBuild:
        """The block group contract (:mod:`batchode.solvers.linear.base`) for sparse blocks: one
        factorisation and one solve for all of them, emitted in lockstep, so that the blocks' chains of
        dependent operations overlap (see :func:`~batchode.solvers.linear.sparse_code._lockstep`).

        On CUDA, where the code is inline, it costs registers while both blocks' entries live:
        radau-iia-5 on Robertson (float32, sm_90) took 134 registers, against 128 with the blocks
        called one after another from the step and 136 through :func:`blocks_in_turn` (no spills
        either way; 128 in lockstep once the run-time values were read where used); what the
        overlap gains on a GPU is not yet measured.
        """
        first = members[0].factory
        kinds = tuple(member.factory.settings.complex_entries for member in members)
        offsets = [member.offset for member in members]
        if offsets != block_offsets(first.n, kinds):
            raise ValueError(f"sparse blocks solved together must follow one another from 0; offsets {offsets}")
        factorise, substitute = sparse_lu_device_functions(first.backend, first.precision, first.schedule, kinds)
        dtype, device = first.precision.type, first.backend.device_function
        shifts = tuple(dtype(shift) for member in members for shift in (member.shift_re, member.shift_im))

        def no_factors(shared, persistent):
            return ()

        factors_of = device(no_factors)
        for member in reversed(members):
            factors_of = _with_factors(member, factors_of)

        def prepare(jacobian, dt, shared, persistent):
            return factorise(jacobian, dt, shifts, factors_of(shared, persistent))

        def solve(rhs, x, p, shared, persistent):
            substitute(factors_of(shared, persistent), rhs, x)

        return LinearSolverBuild(device(prepare), device(solve))


def _with_factors(member, rest):
    """Device function ``(shared, persistent) -> (member's factors, *rest(shared, persistent))`` on the owner's buffers."""
    view, alloc_factors = member.view, member.factory.buffer_registry.buffers["factors"].allocate()

    def factors_of(shared, persistent):
        own_shared, own_persistent = view(shared, persistent)
        return (alloc_factors(own_shared, own_persistent),) + rest(shared, persistent)

    return member.factory.backend.device_function(factors_of)
