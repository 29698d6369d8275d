"""Dense LU with partial pivoting, for small systems (n up to about 8-16).

The factorisation and the substitutions are written once, for a square
row-major matrix of any size (:func:`lu_device_functions`: Doolittle with
partial pivoting, Golub & Van Loan, Matrix Computations, 4th ed., algorithm
3.4.1), and used by two factories:

- :class:`DenseLU` keeps the linear solver contract of
  :mod:`batchode.solvers.linear.base` for ``M = I - alpha J`` of size n:
  ``prepare`` forms ``M`` from the analytic (or finite-difference) Jacobian
  and factorises it.
- :class:`DenseBlockLU` keeps the block LU contract of the same module for
  ``shift I - dt J``, real or complex: the diagonal blocks ``gamma I - dt
  J`` and ``(alpha + i beta) I - dt J`` of a fully implicit Runge-Kutta
  step's transformed Newton matrix. Complex entries are stored as real
  parts, then imaginary parts: ``(A + i B)(u + i v) = c + i d`` is the real
  system ``[[A, -B], [B, A]] [u; v] = [c; d]`` with half its flops and memory.

A singular matrix (a zero pivot column) makes either ``prepare`` return
``Status.LINEAR_SOLVER_FAILED``.
"""

from __future__ import annotations

from batchode.factory import CUDAFactory
from batchode.solvers.linear.base import BlockLUSettings, LinearSolver, LinearSolverBuild, blocks_in_turn
from batchode.status import Status


def _entry_arithmetic(dtype, complex_entries: bool):
    """``(unit, load, store, magnitude, multiply, subtract, divide)`` for real or complex entries.

    A complex array of ``m`` entries is stored in a real array of ``2m``:
    the real parts, then the imaginary parts (``half = m`` apart), so a
    complex vector ``u + i v`` is the real vector ``[u; v]`` of the
    equivalent real system. Complex values are ``(re, im)`` tuples of the
    working precision: numba's complex types would widen float32 work to
    complex128 (``complex(re, im)``) and cannot live in the typed real
    pools. The pivot magnitude of a complex entry is ``|re| + |im|`` (no
    square root), as in Hairer & Wanner's complex LU ``DECC`` (decsol.f).

    ``load(array, index, half)`` and ``store(array, index, half, value)``
    read and write entry ``index`` of an array whose imaginary parts start
    ``half`` after its real parts (ignored for real entries); the others
    work on values as ``load`` returns them. Plain Python functions: the
    caller compiles them for its backend.
    """
    one, zero = dtype(1.0), dtype(0.0)
    if not complex_entries:
        def load(array, index, half):
            return array[index]

        def store(array, index, half, value):
            array[index] = value

        def magnitude(value):
            return abs(value)

        def multiply(x, y):
            return x * y

        def subtract(x, y):
            return x - y

        def divide(x, y):
            return x / y

        return one, load, store, magnitude, multiply, subtract, divide

    def load(array, index, half):
        return array[index], array[half + index]

    def store(array, index, half, value):
        array[index] = value[0]
        array[half + index] = value[1]

    def magnitude(value):
        return abs(value[0]) + abs(value[1])

    def multiply(x, y):
        return x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0]

    def subtract(x, y):
        return x[0] - y[0], x[1] - y[1]

    def divide(x, y):
        scale = one / (y[0] * y[0] + y[1] * y[1])
        return (x[0] * y[0] + x[1] * y[1]) * scale, (x[1] * y[0] - x[0] * y[1]) * scale

    return (one, zero), load, store, magnitude, multiply, subtract, divide


def lu_device_functions(backend, precision, size: int, complex_entries: bool = False):
    """``(factorise, substitute)`` device functions for ``size x size`` row-major matrices.

    ``status = factorise(factors, pivots)`` overwrites ``factors`` with its
    LU factors and ``pivots`` with the row swaps (row indices stored as
    floats, so they share the typed persistent pool); ``substitute(factors,
    pivots, rhs, x)`` solves with them (``rhs`` may be ``x``). With
    ``complex_entries`` the matrix and the vectors are complex, stored as
    real parts then imaginary parts (see :func:`_entry_arithmetic`):
    ``factors`` holds ``2 size^2`` reals, ``rhs`` and ``x`` ``2 size``.
    """
    n = size
    dtype = precision.type
    zero = dtype(0.0)
    failed = int(Status.LINEAR_SOLVER_FAILED)
    device = backend.device_function
    unit, *arithmetic = _entry_arithmetic(dtype, complex_entries)
    load, store, magnitude, multiply, subtract, divide = (device(f) for f in arithmetic)
    matrix_half = n * n

    def factorise(factors, pivots):
        for col in range(n):
            pivot = col
            largest = magnitude(load(factors, col * n + col, matrix_half))
            for row in range(col + 1, n):
                size = magnitude(load(factors, row * n + col, matrix_half))
                if size > largest:
                    largest = size
                    pivot = row
            pivots[col] = pivot
            if largest == zero:
                return failed
            if pivot != col:
                for j in range(n):
                    swap = load(factors, col * n + j, matrix_half)
                    store(factors, col * n + j, matrix_half, load(factors, pivot * n + j, matrix_half))
                    store(factors, pivot * n + j, matrix_half, swap)
            inverse = divide(unit, load(factors, col * n + col, matrix_half))
            for row in range(col + 1, n):
                factor = multiply(load(factors, row * n + col, matrix_half), inverse)
                store(factors, row * n + col, matrix_half, factor)
                for j in range(col + 1, n):
                    product = multiply(factor, load(factors, col * n + j, matrix_half))
                    store(factors, row * n + j, matrix_half,
                          subtract(load(factors, row * n + j, matrix_half), product))
        return 0

    def substitute(factors, pivots, rhs, x):
        for i in range(n):
            store(x, i, n, load(rhs, i, n))
        for col in range(n):
            pivot = int(pivots[col])
            if pivot != col:
                swap = load(x, col, n)
                store(x, col, n, load(x, pivot, n))
                store(x, pivot, n, swap)
        for i in range(n):
            for j in range(i):
                store(x, i, n, subtract(load(x, i, n), multiply(load(factors, i * n + j, matrix_half), load(x, j, n))))
        for i in range(n - 1, -1, -1):
            for j in range(i + 1, n):
                store(x, i, n, subtract(load(x, i, n), multiply(load(factors, i * n + j, matrix_half), load(x, j, n))))
            store(x, i, n, divide(load(x, i, n), load(factors, i * n + i, matrix_half)))

    return device(factorise, inline=False), device(substitute, inline=False)


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

        def prepare(t, y, p, alpha, settings, shared, persistent):
            factors = alloc_factors(shared, persistent)
            work = alloc_work(shared, persistent)
            jacobian(t, y, p, factors, work)
            for i in range(n):
                for j in range(n):
                    factors[i * n + j] = -alpha * factors[i * n + j]
                factors[i * n + i] += one
            return factorise(factors, alloc_pivots(shared, persistent))

        def solve(rhs, x, p, settings, shared, persistent):
            substitute(alloc_factors(shared, persistent), alloc_pivots(shared, persistent), rhs, x)
            return 0, 1

        device = self.backend.device_function
        return LinearSolverBuild(device(prepare), device(solve))


class DenseBlockLU(CUDAFactory):
    """LU with partial pivoting of a block ``shift I - dt J`` (the block LU contract of
    :mod:`batchode.solvers.linear.base`), ``J`` given as all its entries, row-major.

    Buffers (LOCAL_PERSISTENT, so the factors survive from ``prepare`` to
    the ``solve`` calls): ``factors`` (size*size, twice that for complex
    entries) and ``pivots`` (size); both disabled when ``size`` is 0.
    """

    Settings = BlockLUSettings

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        size = lambda: self.settings.size  # noqa: E731 - sizes follow the settings
        enabled = lambda: self.settings.size > 0  # noqa: E731
        self.register_buffer("factors", "local_persistent", lambda: self.settings.parts * size() * size(),
                             enabled=enabled)
        self.register_buffer("pivots", "local_persistent", size, enabled=enabled)

    @property
    def jacobian_entries(self) -> int:
        """Entries of the ``jacobian`` argument of ``prepare``: all of ``J``."""
        return self.settings.size ** 2

    def build(self) -> LinearSolverBuild:
        settings = self.settings
        n, imaginary = settings.size, settings.size ** 2
        zero = self.precision.type(0.0)
        factorise, substitute = lu_device_functions(self.backend, self.precision, n, settings.complex_entries)
        buffers = self.buffer_registry.buffers
        alloc_factors = buffers["factors"].allocate()
        alloc_pivots = buffers["pivots"].allocate()

        device = self.backend.device_function

        def form_real(jacobian, dt, shift_re, shift_im, factors):
            for row in range(n):
                for col in range(n):
                    factors[row * n + col] = -dt * jacobian[row * n + col]
                factors[row * n + row] += shift_re

        form_real = device(form_real)

        def form_complex(jacobian, dt, shift_re, shift_im, factors):
            form_real(jacobian, dt, shift_re, shift_im, factors)
            for q in range(imaginary):
                factors[imaginary + q] = zero
            for row in range(n):
                factors[imaginary + row * n + row] = shift_im

        form = device(form_complex) if settings.complex_entries else form_real

        def prepare(jacobian, dt, shift_re, shift_im, shared, persistent):
            factors = alloc_factors(shared, persistent)
            form(jacobian, dt, shift_re, shift_im, factors)
            return factorise(factors, alloc_pivots(shared, persistent))

        def solve(rhs, x, p, shared, persistent):
            substitute(alloc_factors(shared, persistent), alloc_pivots(shared, persistent), rhs, x)
            return 0, 1

        return LinearSolverBuild(device(prepare), device(solve))

    #: The block group contract: the blocks one after another (their pivoting loops leave nothing to interleave).
    together = staticmethod(blocks_in_turn)
