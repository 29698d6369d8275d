"""Dense LU with partial pivoting, for small systems (n up to about 8-16).

``prepare`` forms ``M = I - alpha J`` from the analytic (or finite-difference)
Jacobian and factorises it in place (Doolittle, partial pivoting, Golub & Van
Loan, Matrix Computations, 4th ed., algorithm 3.4.1); ``solve`` applies the
row swaps and the two triangular substitutions.
"""

from __future__ import annotations

from batchode.solvers.linear.base import LinearSolver, LinearSolverBuild
from batchode.status import Status


class DenseLU(LinearSolver):
    """Direct solver. Buffers: ``factors`` (n*n) and ``pivots`` (n, row
    indices stored as floats so they share the typed persistent pool),
    both LOCAL_PERSISTENT so a factorisation survives between calls, and
    ``jacobian_work`` (2n, LOCAL) for finite-difference Jacobians."""

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        n = self.n
        self.register_buffer("factors", "local_persistent", n * n)
        self.register_buffer("pivots", "local_persistent", n)
        self.register_buffer("jacobian_work", "local", 2 * n)

    def build(self) -> LinearSolverBuild:
        n = self.n
        dtype = self.precision.type
        zero, one = dtype(0.0), dtype(1.0)
        failed = int(Status.LINEAR_SOLVER_FAILED)
        jacobian = self.system_factory.jacobian_function
        buffers = self.buffer_registry.buffers
        alloc_factors = buffers["factors"].allocate()
        alloc_pivots = buffers["pivots"].allocate()
        alloc_work = buffers["jacobian_work"].allocate()

        def prepare(t, y, p, alpha, shared, persistent):
            factors = alloc_factors(shared, persistent)
            pivots = alloc_pivots(shared, persistent)
            work = alloc_work(shared, persistent)
            jacobian(t, y, p, factors, work)
            for i in range(n):
                for j in range(n):
                    factors[i * n + j] = -alpha * factors[i * n + j]
                factors[i * n + i] += one
            for col in range(n):
                pivot = col
                largest = abs(factors[col * n + col])
                for row in range(col + 1, n):
                    size = abs(factors[row * n + col])
                    if size > largest:
                        largest = size
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

        def solve(rhs, x, p, shared, persistent):
            factors = alloc_factors(shared, persistent)
            pivots = alloc_pivots(shared, persistent)
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
            return 0, 1

        device = self.backend.device_function
        return LinearSolverBuild(device(prepare), device(solve))
