"""DenseMatrixLU with real and complex entries against numpy, on the CPU backend."""

import numba
import numpy as np
import pytest

from batchode.solvers.linear import DenseMatrixLU
from batchode.status import Status


def solve_with(lu, matrix_parts, rhs):
    """Assemble ``matrix_parts`` (real, then imaginary parts) in the LU's view, factorise, solve."""
    built = lu.built
    matrix_view, prepare, solve = built.matrix_view, built.prepare, built.solve

    @numba.njit
    def run(parts, rhs, shared, persistent):
        matrix = matrix_view(shared, persistent)
        for i in range(parts.size):
            matrix[i] = parts[i]
        status = prepare(shared, persistent)
        x = np.zeros_like(rhs)
        if status == 0:
            solve(rhs, x, rhs, shared, persistent)
        return status, x

    registry = lu.buffer_registry
    persistent = np.zeros(registry.persistent_local_elements)
    return run(matrix_parts, rhs, np.zeros(1), persistent)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_complex_entries_solve_the_complex_system(n):
    rng = np.random.default_rng(n)
    # Small diagonal: partial pivoting must swap rows.
    matrix = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)) + 0.01 * np.eye(n)
    rhs = rng.normal(size=n) + 1j * rng.normal(size=n)
    lu = DenseMatrixLU(size=n, complex_entries=True, backend="cpu")
    # Real parts, then imaginary parts: 2 n^2 factors, n pivots.
    assert lu.buffer_registry.persistent_local_elements == 2 * n * n + n
    status, x = solve_with(lu, np.concatenate([matrix.real.ravel(), matrix.imag.ravel()]),
                           np.concatenate([rhs.real, rhs.imag]))
    assert status == 0
    np.testing.assert_allclose(x[:n] + 1j * x[n:], np.linalg.solve(matrix, rhs), rtol=1e-12, atol=1e-12)


def test_real_and_complex_entries_agree_on_a_real_matrix_and_flag_singular_ones():
    rng = np.random.default_rng(0)
    matrix, rhs = rng.normal(size=(4, 4)), rng.normal(size=4)
    _, real = solve_with(DenseMatrixLU(size=4, backend="cpu"), matrix.ravel(), rhs)
    _, both = solve_with(DenseMatrixLU(size=4, complex_entries=True, backend="cpu"),
                         np.concatenate([matrix.ravel(), np.zeros(16)]), np.concatenate([rhs, np.zeros(4)]))
    np.testing.assert_allclose(both, np.concatenate([real, np.zeros(4)]), rtol=1e-13, atol=1e-15)
    singular = np.zeros(18)
    status, _ = solve_with(DenseMatrixLU(size=3, complex_entries=True, backend="cpu"), singular, np.ones(6))
    assert status == Status.LINEAR_SOLVER_FAILED
