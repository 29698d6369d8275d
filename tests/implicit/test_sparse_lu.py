"""The sparse LU (``linear_solver="sparse"``) against numpy and against the dense LU, on the CPU backend.

Compiled solvers are shared through module fixtures: each full solve
compiles a Rosenbrock or DIRK kernel (about 25 s on a busy two-core machine).
"""

import functools
import re

import numba
import numpy as np
import pytest

import batchode
from batchode.memory.buffer import PERSISTENT_POOL, SHARED_POOL
from batchode.solvers.linear import SparseLU
from batchode.solvers.linear.sparse_code import factorise_intrinsic, substitute_intrinsic
from batchode.solvers.linear.sparse_lu import NEEDS_SPARSITY, sparse_schedule, symbolic_factorisation
from batchode.status import Status
from batchode.systems import examples
from batchode.systems.device import SystemFactory
from sparse_systems import linear_system, random_pattern


class LinearSolve:
    """Calls a :class:`SparseLU`'s compiled ``prepare`` and ``solve`` from Python."""

    def __init__(self, system):
        self.factory = SparseLU(SystemFactory(system))
        self.build = self.factory.built
        registry = self.factory.buffer_registry
        self.shared = np.zeros(max(registry.pool_elements(SHARED_POOL), 1))
        self.persistent = np.zeros(registry.pool_elements(PERSISTENT_POOL))
        self.n = system.n_states

    def prepare(self, p, alpha) -> int:
        return self.build.prepare(0.0, np.zeros(self.n), p, alpha, np.zeros(1), self.shared, self.persistent)

    def solve(self, rhs, x, p):
        return self.build.solve(rhs, x, p, np.zeros(1), self.shared, self.persistent)


@pytest.mark.parametrize("n, per_row", [(8, 2), (40, 3)])
def test_sparse_solution_equals_numpy_on_random_diagonally_dominant_matrices(n, per_row):
    rng = np.random.default_rng(1000 + n)
    pattern = random_pattern(rng, n, per_row)
    assert any((i, i) not in pattern for i in range(n))  # the solver's own diagonal is exercised
    solver = LinearSolve(linear_system(n, pattern))
    rows, columns = np.array(pattern).T
    for _ in range(5):  # new values, the same compiled solver
        values = rng.uniform(-1.0, 1.0, len(pattern))
        jacobian = np.zeros((n, n))
        jacobian[rows, columns] = values
        # alpha makes the off-diagonal part of each row of M = I - alpha J at
        # most 0.5 in absolute sum, and keeps alpha J_ii <= 1/2: M is
        # diagonally dominant, with condition number below about 6.
        off_diagonal = np.abs(jacobian - np.diag(np.diag(jacobian))).sum(axis=1)
        alpha = 0.5 / max(off_diagonal.max(), np.abs(np.diag(jacobian)).max())
        matrix = np.eye(n) - alpha * jacobian
        rhs = rng.normal(size=n)
        assert solver.prepare(values, alpha) == 0
        x = np.zeros(n)
        assert solver.solve(rhs, x, values) == (0, 1)
        expected = np.linalg.solve(matrix, rhs)
        # Both solutions carry about cond(M) n eps of rounding (1e-14 here).
        assert np.linalg.norm(x - expected) <= 1e-12 * np.linalg.norm(expected)
        in_place = rhs.copy()
        solver.solve(in_place, in_place, values)  # rhs and x may be the same array
        np.testing.assert_array_equal(in_place, x)


def test_a_zero_pivot_fails_the_factorisation():
    # M = I - alpha [[a, b], [c, d]], both entries of each row structural.
    solver = LinearSolve(linear_system(2, ((0, 0), (0, 1), (1, 0), (1, 1))))
    assert solver.prepare(np.array([1.0, 2.0, -1.0, 1.0]), 0.5) == 0  # M = [[0.5, -1], [0.5, 0.5]]
    # A zero pivot as formed: M_00 = 1 - 0.5 * 2 = 0 (dense LU would swap rows).
    assert solver.prepare(np.array([2.0, 1.0, 1.0, 0.0]), 0.5) == Status.LINEAR_SOLVER_FAILED
    # A zero pivot after elimination: M = [[1, 1], [1, 1]] is singular.
    assert solver.prepare(np.array([0.0, -1.0, -1.0, 0.0]), 1.0) == Status.LINEAR_SOLVER_FAILED


def jacobian_values_source(system) -> str:
    source = system.derivative_source
    return source[source.index("def jacobian_values("):]


def test_schedule_and_generated_code_grow_with_the_non_zeros_not_n_squared():
    stored, operations, lengths = {}, {}, {}
    for n in (10, 30, 100):
        system = examples.brusselator(n // 2)
        schedule = sparse_schedule(n, system.jacobian_sparsity)
        stored[n], operations[n] = schedule.stored, schedule.operations
        lengths[n] = len(jacobian_values_source(system))
        # Minimum degree interleaves u_i and v_i into a band of half-width 2
        # (the natural order has half-width n/2).
        assert schedule.pattern_entries == len(system.jacobian_sparsity) == 4 * n - 4
    # Measured: exactly 5n - 6 entries of L + U (44, 144, 494) and 4n - 7
    # multiply-adds per factorisation (33, 113, 393), against n^2 = 10,000
    # entries and n^3 / 3 = 333,333 multiply-adds dense at n = 100. The
    # bounds, 5n and 4n, are linear with the measured offsets (6 and 7) as
    # their margin: any superlinear term fails them by n = 100.
    for n in (10, 30, 100):
        assert stored[n] <= 5 * n and operations[n] <= 4 * n, (stored, operations)
    assert stored[100] <= 100 ** 2 / 20
    # Unordered, the same elimination fills the band: 5,198 entries.
    system = examples.brusselator(50)
    rows = [[j for i, j in system.jacobian_sparsity if i == row] + [row] for row in range(100)]
    assert sum(len(row) for row in symbolic_factorisation(100, rows)) > 10 * stored[100]
    # The generated values grow like the non-zeros (measured 3.0x and 10.4x
    # from n = 10, with 3.2x and 11x the non-zeros); bound 1.25 times linear.
    for n in (30, 100):
        assert lengths[n] / lengths[10] <= 1.25 * n / 10, lengths


def emitted_instructions(n: int) -> int:
    """Lines of code of the unrolled sparse LU (factorisation and substitution) of the n-state Brusselator.

    LLVM instructions of each function defined in IR, and assembly lines of
    each carried as machine code (the factorisation on Linux).
    """
    schedule = sparse_schedule(n, examples.brusselator(n // 2).jacobian_sparsity)
    factorise_code = factorise_intrinsic(schedule, (False,), 2.2e-16, True)
    substitute_code = substitute_intrinsic(schedule, (False,), True)

    @numba.njit
    def both(values, factors, x):
        substitute_code((factors,), x, x)
        return factorise_code(values, 0.1, (1.0, 0.0), (factors,))

    array = numba.types.float64[::1]
    both.compile((array, array, array))
    llvm = both.inspect_llvm((array, array, array))
    bodies = re.findall(r"^define [^\n]*@batchode_sparse_\w+\(.*?^}", llvm, re.MULTILINE | re.DOTALL)
    bodies += re.findall(r'^module asm "\.ifndef batchode_sparse_\w+"$.*?^module asm "\.endif"$', llvm,
                         re.MULTILINE | re.DOTALL)
    assert len(bodies) == 2
    return sum(body.count("\n") for body in bodies)


def test_the_unrolled_lu_grows_with_the_fill_not_n_squared():
    # The straight-line code has a few instructions per stored entry and
    # per multiply-add, whose counts are exactly linear here (5n - 6 and
    # 4n - 7): measured exactly 80n - 75 lines of IR (725, 2,325 and 7,925)
    # with both functions in IR, and 577, 1,911 and 6,516 lines with the
    # factorisation as machine code (Linux). The bound 85n is linear, with a
    # 6 % margin on the first: any term in n^2 (a dense LU's substitution
    # alone has n^2 multiply-adds) fails it by n = 100.
    sizes = {n: emitted_instructions(n) for n in (10, 30, 100)}
    for n in (10, 30, 100):
        assert sizes[n] <= 85 * n, sizes


def test_python_function_systems_krylov_for_firk_methods_and_krylov_settings_are_refused():
    def decay(t, y, p, dydt):
        dydt[0] = -y[0]

    python_system = batchode.ODESystem.from_function(decay, ["x"])
    with pytest.raises(ValueError, match="needs an equation system") as error:
        batchode.Solver(python_system, method="rodas5p", linear_solver="sparse")
    assert NEEDS_SPARSITY in str(error.value)
    system = examples.brusselator(2)
    with pytest.raises(ValueError, match="needs an equation system"):
        batchode.Solver(python_system, method="radau-iia-5", linear_solver="sparse")
    with pytest.raises(ValueError, match=r"linear_solver='gmres' does not apply to method 'radau-iia-5'"):
        batchode.Solver(system, method="radau-iia-5", linear_solver="gmres")
    with pytest.raises(ValueError, match="Krylov solvers"):
        batchode.Solver(system, method="kvaerno5", linear_solver="sparse", krylov_tolerance=1e-6)


def test_describe_memory_shows_the_factors_and_the_jacobian_values_which_move_like_any_buffer():
    solver = batchode.Solver(examples.brusselator(5), method="rodas5p", linear_solver="sparse", backend="cpu",
                             locations={"linear.factors": "shared"})
    text = solver.describe_memory()
    # 44 entries of L + U (5n - 6) and the Jacobian's 36 non-zeros (4n - 4).
    assert re.search(r"- factors +shared +44 ", text), text
    assert re.search(r"- jacobian_values +local +36 ", text), text


@pytest.fixture(scope="module")
def brusselator_solve():
    """``solve(method, linear_solver)``: the 20-state Brusselator over [0, 10], four values of B, cached."""
    system = examples.brusselator(10)

    @functools.cache
    def run(method, linear_solver):
        solver = batchode.Solver(system, method=method, rtol=1e-6, atol=1e-6, backend="cpu",
                                 linear_solver=linear_solver, save_time_series=False)
        return solver.solve((0.0, 10.0), parameters={"B": [2.5, 3.0, 3.5, 4.0]})

    return run


@pytest.mark.parametrize("method", ["rodas5p", "kvaerno5", "radau-iia-5"])
def test_sparse_and_dense_take_the_same_steps_to_the_same_state(brusselator_solve, method):
    dense, sparse = brusselator_solve(method, "dense"), brusselator_solve(method, "sparse")
    assert np.all(sparse.success)
    for counter in ("n_accepted", "n_rejected", "n_newton_iterations", "n_linear_iterations"):
        np.testing.assert_array_equal(getattr(sparse, counter), getattr(dense, counter), err_msg=counter)
    # The two LUs differ only in rounding (a few eps per solve, M being
    # well conditioned), and the same steps pass it on through about 100
    # steps of a non-chaotic system: measured 7e-15 (rodas5p), 1e-14
    # (kvaerno5) and 4e-15 (radau-iia-5, at 40 states) relative. 1e-10 leaves four orders of magnitude for
    # another platform's rounding, yet catches any solve that is wrong.
    np.testing.assert_allclose(sparse.final_state, dense.final_state, rtol=1e-10, atol=0)
