"""The block LUs of fully implicit steps (``shift I - dt J``, real or complex) against numpy, on the CPU backend."""

import numpy as np
import pytest

from batchode.memory.buffer import PERSISTENT_POOL, SHARED_POOL
from batchode.solvers.linear import DenseBlockLU, SparseBlockLU
from batchode.status import Status
from batchode.systems.device import SystemFactory
from sparse_systems import linear_system, random_pattern


def block_solve(lu, jacobian, dt, shift, rhs):
    """Factorise ``lu``'s ``shift I - dt J`` (``jacobian`` in its form) and solve for complex ``rhs``.

    Returns the status and the solution as a complex vector (real blocks:
    its real part solved, imaginary part zero). Also checks that solving
    in place gives the same.
    """
    built = lu.built
    registry = lu.buffer_registry
    shared = np.zeros(max(registry.pool_elements(SHARED_POOL), 1))
    persistent = np.zeros(registry.pool_elements(PERSISTENT_POOL))
    status = built.prepare(jacobian, dt, shift.real, shift.imag, shared, persistent)
    if status != 0:
        return status, None
    parts = np.concatenate([rhs.real, rhs.imag]) if lu.settings.complex_entries else rhs.real.copy()
    x = np.zeros_like(parts)
    assert built.solve(parts, x, np.zeros(1), shared, persistent) == (0, 1)
    built.solve(parts, parts, np.zeros(1), shared, persistent)  # rhs and x may be the same array
    np.testing.assert_array_equal(parts, x)
    n = lu.settings.size
    return status, x[:n] + 1j * x[n:] if lu.settings.complex_entries else x.astype(complex)


@pytest.mark.parametrize("complex_entries", [False, True])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_dense_block_solves_the_shifted_system(n, complex_entries):
    rng = np.random.default_rng(10 * n + complex_entries)
    jacobian = rng.normal(size=(n, n))
    shift = 0.3 + (0.8j if complex_entries else 0.0)
    rhs = rng.normal(size=n) + (1j * rng.normal(size=n) if complex_entries else 0.0)
    lu = DenseBlockLU(size=n, complex_entries=complex_entries, backend="cpu")
    # Real parts, then imaginary parts: 2 n^2 factors for complex entries, n pivots.
    assert lu.buffer_registry.persistent_local_elements == (1 + complex_entries) * n * n + n
    assert lu.jacobian_entries == n * n
    status, x = block_solve(lu, jacobian.ravel(), 1.7, shift, rhs)
    assert status == 0
    matrix = shift * np.eye(n) - 1.7 * jacobian
    # cond(M) is below 1e3 for these seeds: 1e-12 leaves a margin of 100 over rounding.
    np.testing.assert_allclose(x, np.linalg.solve(matrix, rhs), rtol=1e-12, atol=1e-12)


def test_dense_block_with_a_zero_pivot_column_fails():
    lu = DenseBlockLU(size=3, complex_entries=True, backend="cpu")
    status, _ = block_solve(lu, np.zeros(9), 1.0, 0j, np.ones(3, dtype=complex))
    assert status == Status.LINEAR_SOLVER_FAILED


@pytest.fixture(scope="module")
def random_sparse_system():
    """A 30-state linear system with 3 random non-zeros a row, and its pattern."""
    rng = np.random.default_rng(2024)
    pattern = random_pattern(rng, 30, 3)
    return SystemFactory(linear_system(30, pattern)), pattern


@pytest.mark.parametrize("complex_entries", [False, True])
def test_sparse_block_equals_numpy_and_the_dense_block(random_sparse_system, complex_entries):
    system, pattern = random_sparse_system
    n = system.n_states
    sparse = SparseBlockLU(system, size=n, complex_entries=complex_entries)
    dense = DenseBlockLU(size=n, complex_entries=complex_entries, backend="cpu")
    assert sparse.jacobian_entries == len(pattern)
    stored = sparse.schedule.stored
    assert sparse.buffer_registry.persistent_local_elements == (1 + complex_entries) * stored < n * n
    rng = np.random.default_rng(7 + complex_entries)
    rows, columns = np.array(pattern).T
    for _ in range(3):  # new values, the same compiled blocks
        values = rng.uniform(-1.0, 1.0, len(pattern))
        jacobian = np.zeros((n, n))
        jacobian[rows, columns] = values
        # dt keeps every row's dt sum |J_ij| at most 0.5 against |shift| >= 1:
        # M is diagonally dominant and well conditioned (cond below about 3).
        dt = 0.5 / np.abs(jacobian).sum(axis=1).max()
        shift = 1.2 + (0.9j if complex_entries else 0.0)
        rhs = rng.normal(size=n) + (1j * rng.normal(size=n) if complex_entries else 0.0)
        status, x = block_solve(sparse, values, dt, shift, rhs)
        assert status == 0
        expected = np.linalg.solve(shift * np.eye(n) - dt * jacobian, rhs)
        assert np.linalg.norm(x - expected) <= 1e-13 * np.linalg.norm(expected)
        _, from_dense = block_solve(dense, jacobian.ravel(), dt, shift, rhs)
        assert np.linalg.norm(x - from_dense) <= 1e-13 * np.linalg.norm(expected)


def test_sparse_block_refuses_a_size_other_than_the_system_and_a_zero_size_has_no_buffers(random_sparse_system):
    system, _ = random_sparse_system
    with pytest.raises(ValueError, match="size 4; expected 0 or 30"):
        SparseBlockLU(system, size=4)
    assert SparseBlockLU(system, size=0, complex_entries=True).buffer_registry.persistent_local_elements == 0


def test_sparse_block_with_a_lost_pivot_fails(random_sparse_system):
    system, pattern = random_sparse_system
    lu = SparseBlockLU(system, size=system.n_states, complex_entries=True)
    # J = 0 and a zero shift: every pivot is zero.
    status, _ = block_solve(lu, np.zeros(len(pattern)), 1.0, 0j, np.ones(system.n_states, dtype=complex))
    assert status == Status.LINEAR_SOLVER_FAILED


def test_fully_implicit_default_is_sparse_for_equation_systems_and_never_costs_more_than_dense():
    from batchode import ODESystem
    from batchode.solvers.linear import block_solver_name, dense_lu_operations, sparse_schedule

    banded = linear_system(20, tuple((i, j) for i in range(20) for j in range(20) if abs(i - j) <= 1))
    assert block_solver_name(None, banded, "radau-iia-5") == "sparse"
    # Every entry non-zero: the sparse LU stores and eliminates exactly what the dense one does.
    full = linear_system(6, tuple((i, j) for i in range(6) for j in range(6)))
    schedule = sparse_schedule(6, full.jacobian_sparsity)
    assert (schedule.stored, schedule.operations) == (36, dense_lu_operations(6))
    assert block_solver_name(None, full, "radau-iia-5") == "sparse"

    def decay(t, y, p, dydt):
        dydt[0] = -y[0]

    python_system = ODESystem.from_function(decay, ["x"])  # no sparsity pattern known
    assert block_solver_name(None, python_system, "radau-iia-5") == "dense"
    assert block_solver_name(" Sparse ", banded, "radau-iia-5") == "sparse"
