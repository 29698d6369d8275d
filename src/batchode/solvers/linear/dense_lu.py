"""Dense LU with partial pivoting, for small systems (n up to about 8-16).

The factorisation and the substitutions are written once, for a square
row-major matrix of any size (:func:`lu_device_functions`: Doolittle with
partial pivoting, Golub & Van Loan, Matrix Computations, 4th ed., algorithm
3.4.1), and used by two factories:

- :class:`DenseLU` keeps the linear solver contract of
  :mod:`batchode.solvers.linear.base` for ``M = I - alpha J`` of size n:
  ``prepare`` forms ``M`` from the analytic (or finite-difference) Jacobian
  and factorises it.
- :class:`DenseMatrixLU` factorises a matrix of any ``size`` that its owner
  assembles, e.g. the ``(s n) x (s n)`` stage matrix ``I - dt (A kron J)``
  of a fully implicit Runge-Kutta step. Contract::

      matrix = matrix_view(shared, persistent)    # size x size, row-major
      status = prepare(shared, persistent)        # factorise it in place
      status, iterations = solve(rhs, x, p, shared, persistent)

  1. The owner writes the matrix into ``matrix_view``'s array (a view of
     this factory's ``factors`` buffer, so nothing is copied) and then
     calls ``prepare``; the owner never learns where the buffer lives.
  2. ``prepare`` returns ``Status.LINEAR_SOLVER_FAILED`` for a singular
     matrix (a zero pivot column), else 0.
  3. ``solve`` has the linear solver contract (``p`` is unused); ``rhs``
     and ``x`` may be the same array.
"""

from __future__ import annotations

import attrs

from batchode.factory import CUDAFactory
from batchode.solvers.linear.base import LinearSolver, LinearSolverBuild
from batchode.status import Status


def lu_device_functions(backend, precision, size: int):
    """``(factorise, substitute)`` device functions for ``size x size`` row-major matrices.

    ``status = factorise(factors, pivots)`` overwrites ``factors`` with its
    LU factors and ``pivots`` with the row swaps (row indices stored as
    floats, so they share the typed persistent pool); ``substitute(factors,
    pivots, rhs, x)`` solves with them (``rhs`` may be ``x``).
    """
    n = size
    dtype = precision.type
    zero, one = dtype(0.0), dtype(1.0)
    failed = int(Status.LINEAR_SOLVER_FAILED)

    def factorise(factors, pivots):
        for col in range(n):
            pivot = col
            largest = abs(factors[col * n + col])
            for row in range(col + 1, n):
                magnitude = abs(factors[row * n + col])
                if magnitude > largest:
                    largest = magnitude
                    pivot = row
            pivots[col] = pivot
            if largest == zero:
                return failed
            if pivot != col:
                for j in range(n):
                    swap = factors[col * n + j]
                    factors[col * n + j] = factors[pivot * n + j]
                    factors[pivot * n + j] = swap
            inverse = one / factors[col * n + col]
            for row in range(col + 1, n):
                factor = factors[row * n + col] * inverse
                factors[row * n + col] = factor
                for j in range(col + 1, n):
                    factors[row * n + j] -= factor * factors[col * n + j]
        return 0

    def substitute(factors, pivots, rhs, x):
        for i in range(n):
            x[i] = rhs[i]
        for col in range(n):
            pivot = int(pivots[col])
            if pivot != col:
                swap = x[col]
                x[col] = x[pivot]
                x[pivot] = swap
        for i in range(n):
            for j in range(i):
                x[i] -= factors[i * n + j] * x[j]
        for i in range(n - 1, -1, -1):
            for j in range(i + 1, n):
                x[i] -= factors[i * n + j] * x[j]
            x[i] /= factors[i * n + i]

    device = backend.device_function
    return device(factorise), device(substitute)


class DenseLU(LinearSolver):
    """Direct solver of ``(I - alpha J) x = b``. Buffers: ``factors`` (n*n)
    and ``pivots`` (n), both LOCAL_PERSISTENT so a factorisation survives
    between calls, and ``jacobian_work`` (2n, LOCAL) for finite-difference
    Jacobians."""

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        n = self.n
        self.register_buffer("factors", "local_persistent", n * n)
        self.register_buffer("pivots", "local_persistent", n)
        self.register_buffer("jacobian_work", "local", 2 * n)

    def build(self) -> LinearSolverBuild:
        n = self.n
        one = self.precision.type(1.0)
        jacobian = self.system_factory.jacobian_function
        factorise, substitute = lu_device_functions(self.backend, self.precision, n)
        buffers = self.buffer_registry.buffers
        alloc_factors = buffers["factors"].allocate()
        alloc_pivots = buffers["pivots"].allocate()
        alloc_work = buffers["jacobian_work"].allocate()

        def prepare(t, y, p, alpha, shared, persistent):
            factors = alloc_factors(shared, persistent)
            work = alloc_work(shared, persistent)
            jacobian(t, y, p, factors, work)
            for i in range(n):
                for j in range(n):
                    factors[i * n + j] = -alpha * factors[i * n + j]
                factors[i * n + i] += one
            return factorise(factors, alloc_pivots(shared, persistent))

        def solve(rhs, x, p, shared, persistent):
            substitute(alloc_factors(shared, persistent), alloc_pivots(shared, persistent), rhs, x)
            return 0, 1

        device = self.backend.device_function
        return LinearSolverBuild(device(prepare), device(solve))


@attrs.frozen
class DenseMatrixSettings:
    """Size of the matrix; 0 means the owner needs no matrix (no buffers)."""

    size: int = attrs.field(default=1, validator=attrs.validators.ge(0))


@attrs.frozen
class DenseMatrixBuild:
    """Compiled ``matrix_view``, ``prepare`` and ``solve`` of :class:`DenseMatrixLU`."""

    matrix_view: object
    prepare: object
    solve: object

    @property
    def device_function(self):
        return self.solve


class DenseMatrixLU(CUDAFactory):
    """LU of a ``size x size`` matrix assembled by its owner (see the module docstring).

    Buffers (LOCAL_PERSISTENT, so the factors survive from ``prepare`` to
    the ``solve`` calls): ``factors`` (size*size) and ``pivots`` (size);
    both disabled when ``size`` is 0.
    """

    Settings = DenseMatrixSettings

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        size = lambda: self.settings.size  # noqa: E731 - sizes follow the settings
        enabled = lambda: self.settings.size > 0  # noqa: E731
        self.register_buffer("factors", "local_persistent", lambda: size() * size(), enabled=enabled)
        self.register_buffer("pivots", "local_persistent", size, enabled=enabled)

    def build(self) -> DenseMatrixBuild:
        factorise, substitute = lu_device_functions(self.backend, self.precision, self.settings.size)
        buffers = self.buffer_registry.buffers
        alloc_factors = buffers["factors"].allocate()
        alloc_pivots = buffers["pivots"].allocate()

        def matrix_view(shared, persistent):
            return alloc_factors(shared, persistent)

        def prepare(shared, persistent):
            return factorise(alloc_factors(shared, persistent), alloc_pivots(shared, persistent))

        def solve(rhs, x, p, shared, persistent):
            substitute(alloc_factors(shared, persistent), alloc_pivots(shared, persistent), rhs, x)
            return 0, 1

        device = self.backend.device_function
        return DenseMatrixBuild(device(matrix_view), device(prepare), device(solve))
