"""Jacobi and Neumann preconditioners of the Krylov solvers.

The test problem is a graded chain whose diagonal dominates: six cells
decaying at rates 1 to 1e4, coupled by a weaker diffusion ``c``,

    dy_i = c (y_{i-1} - 2 y_i + y_{i+1}) - k_i y_i + 1,

stiff over t in [0, 1]. Compiled solvers are shared through a module
fixture (each kvaerno3 kernel takes about 10 s to compile).
"""

import functools

import numba
import numpy as np
import pytest

import batchode
from batchode.memory.buffer import PERSISTENT_POOL, SHARED_POOL
from batchode.solvers.linear import GMRES, MinimalResidual
from batchode.systems.device import SystemFactory

N = 6
RATES = [10.0 ** (4.0 * i / (N - 1)) for i in range(N)]
COUPLINGS = np.array([0.1, 1.0, 10.0])
PRECONDITIONER = "loop_algorithm_newton_linear_preconditioner"


def graded_chain() -> batchode.ODESystem:
    lines = []
    for i, rate in enumerate(RATES):
        left = f"y{i - 1}" if i > 0 else f"y{i}"
        right = f"y{i + 1}" if i < N - 1 else f"y{i}"
        lines.append(f"dy{i} = c * ({left} - 2*y{i} + {right}) - {rate!r} * y{i} + 1")
    return batchode.ODESystem.from_equations("\n".join(lines), parameters={"c": 1.0},
                                             initial_state={f"y{i}": 0.0 for i in range(N)})


@pytest.fixture(scope="module")
def solve():
    """``solve(linear_solver, preconditioner, dt=None)``: kvaerno3 at 1e-6, cached per configuration.

    Six configurations in all; GMRES without a preconditioner is the reference.

    ``dt=None`` is adaptive over [0, 1]; a number is a fixed step over
    [0, 0.02], small enough that ``alpha J`` has spectral radius below 1
    (alpha k_max = 0.436 dt 1e4), the regime the Neumann series is for.
    """
    system = graded_chain()

    @functools.cache
    def run(linear_solver, preconditioner, dt=None):
        fixed = {} if dt is None else dict(step_controller="fixed", dt=dt)
        extra = {} if preconditioner is None else {PRECONDITIONER: preconditioner}
        solver = batchode.Solver(system, method="kvaerno3", rtol=1e-6, atol=1e-6, backend="cpu",
                                 linear_solver=linear_solver, **fixed, **extra)
        return solver.solve((0.0, 1.0 if dt is None else 0.02), parameters={"c": COUPLINGS})

    return run


def linear_per_newton(result) -> float:
    return float((result.n_linear_iterations / result.n_newton_iterations).mean())


@pytest.mark.parametrize("linear_solver, preconditioner",
                         [("gmres", "jacobi"), ("gmres", "neumann"), ("minres", "jacobi")])
def test_preconditioned_results_match_unpreconditioned(solve, linear_solver, preconditioner):
    # Stiff: alpha k_max reaches about 1e3.
    reference, result = solve("gmres", None), solve(linear_solver, preconditioner)
    assert np.all(result.success)
    # Newton stops at 1e-2 of the error weights (atol + |y| rtol = 1e-6 +
    # 1e-10 here); the Krylov tolerance (1e-8) is far below that.
    np.testing.assert_allclose(result.final_state, reference.final_state, rtol=0, atol=1e-2 * 1e-6)
    if preconditioner == "neumann":
        # Measured: 1.57 GMRES iterations per Newton iteration (4.48
        # without): two Jacobi sweeps about the diagonal nearly invert M.
        assert linear_per_newton(result) < 2.0
    if linear_solver == "minres":
        # Measured: 4.06 products per Newton iteration (28.5 without Jacobi,
        # which also took 4x more steps as solves hit max_iterations).
        assert linear_per_newton(result) < 5.0


def test_jacobi_cuts_krylov_iterations_where_the_diagonal_dominates(solve):
    none, jacobi = solve("gmres", None), solve("gmres", "jacobi")
    # Measured: 4.48 without, 3.46 with Jacobi (per coupling 0.1, 1, 10:
    # 2.62, 3.26, 4.50; Jacobi helps less as the off-diagonal part grows).
    assert linear_per_newton(none) > 4.2
    assert linear_per_newton(jacobi) < 3.8
    assert np.all(jacobi.n_linear_iterations[:2] < 0.8 * none.n_linear_iterations[:2])


def test_neumann_cuts_krylov_iterations_while_alpha_j_is_small(solve):
    none, neumann = solve("gmres", None, dt=1e-4), solve("gmres", "neumann", dt=1e-4)
    assert np.all(neumann.success)
    np.testing.assert_allclose(neumann.final_state, none.final_state, rtol=0, atol=1e-2 * 1e-6)
    # Measured: 3.61 without, 2.37 with two Neumann terms (each iteration
    # then costs three Jacobian-vector products).
    assert linear_per_newton(none) > 3.3
    assert linear_per_newton(neumann) < 2.7


# -- the linear solvers alone ---------------------------------------------------


def linear_solve(factory, t, y, p, alpha, rhs):
    """``(x, status, iterations)`` from ``factory``'s prepare and solve, called from Python."""
    build = factory.built
    registry = factory.buffer_registry
    shared = np.zeros(max(registry.pool_elements(SHARED_POOL), 1))
    persistent = np.zeros(max(registry.pool_elements(PERSISTENT_POOL), 1))
    settings = factory.runtime_vector()
    assert build.prepare(t, y, p, alpha, settings, shared, persistent) == 0
    x = np.zeros_like(rhs)
    status, iterations = build.solve(rhs, x, p, settings, shared, persistent)
    return x, status, iterations


def residual_ratio(x, matrix, rhs) -> float:
    return float(np.linalg.norm(rhs - matrix @ x) / np.linalg.norm(rhs))


RATE_ARRAY = np.array(RATES)


@numba.njit
def chain_rhs(t, y, p, dydt):
    for i in range(N):
        left, right = y[max(i - 1, 0)], y[min(i + 1, N - 1)]
        dydt[i] = p[0] * (left - 2 * y[i] + right) - RATE_ARRAY[i] * y[i] + 1.0


@numba.njit
def chain_jvp(t, y, p, v, out, work):  # exact: the chain is linear in y
    for i in range(N):
        left, right = v[max(i - 1, 0)], v[min(i + 1, N - 1)]
        out[i] = p[0] * (left - 2 * v[i] + right) - RATE_ARRAY[i] * v[i]


def chain_products_only() -> batchode.ODESystem:
    """The graded chain as a Python function with a jvp and no Jacobian: no analytic diagonal."""
    return batchode.ODESystem.from_function(chain_rhs, [f"y{i}" for i in range(N)], parameters={"c": 1.0},
                                            jvp=chain_jvp)


# alpha: stiff (alpha k_max = 100) for Jacobi and for the Neumann series
# about the diagonal, which converges however stiff a diagonally dominant M
# is; small (alpha k_max = 0.5) for the series in alpha J of a system with
# no analytic diagonal, its only regime: with alpha k_max = 10,
# M P = I - (alpha J)^3 has condition number 1e3 and the minimal-residual
# iteration (no Krylov memory) runs out of iterations.
@pytest.mark.parametrize("kind", [GMRES, MinimalResidual])
@pytest.mark.parametrize("preconditioner, alpha, make_system", [
    ("jacobi", 1e-2, graded_chain), ("neumann", 1e-2, graded_chain), ("neumann", 5e-5, chain_products_only)])
def test_solution_meets_the_true_residual_tolerance(kind, preconditioner, alpha, make_system):
    factory = SystemFactory(make_system())
    plain, preconditioned = kind(factory), kind(factory, preconditioner=preconditioner)
    assert preconditioned._scales_by_diagonal() == (make_system is graded_chain)
    rng = np.random.default_rng(7)
    y, p, rhs = rng.uniform(0, 1, N), np.array([1.0]), rng.normal(size=N)
    jacobian, work = np.empty(N * N), np.empty(2 * N)
    SystemFactory(graded_chain()).jacobian_function(0.0, y, p, jacobian, work)
    matrix = np.eye(N) - alpha * jacobian.reshape(N, N)
    x, status, iterations = linear_solve(preconditioned, 0.0, y, p, alpha, rhs)
    assert status == 0
    # Right preconditioning: the tested residual is that of M x itself.
    assert residual_ratio(x, matrix, rhs) <= 1e-8
    _, _, plain_iterations = linear_solve(plain, 0.0, y, p, alpha, rhs)
    assert iterations < plain_iterations


def test_jacobi_reads_the_diagonal_of_a_user_jacobian():
    def rhs_function(t, y, p, dydt):
        dydt[0] = -1e3 * y[0] + y[1]
        dydt[1] = y[0] - y[1] * y[1]

    def jacobian(t, y, p, out, work):
        out[0], out[1] = -1e3, 1.0
        out[2], out[3] = 1.0, -2.0 * y[1]

    def jvp(t, y, p, v, out, work):  # exact, so the residual below is the solver's own
        out[0] = -1e3 * v[0] + v[1]
        out[1] = v[0] - 2.0 * y[1] * v[1]

    system = batchode.ODESystem.from_function(rhs_function, ["a", "b"], jvp=numba.njit(jvp),
                                              jacobian=numba.njit(jacobian))
    solver = GMRES(SystemFactory(system), preconditioner="jacobi")
    assert solver.buffer_registry.buffers["jacobian_matrix"].elements() == 4
    y, rhs, alpha = np.array([0.5, 2.0]), np.array([1.0, -1.0]), 0.1
    matrix = np.eye(2) - alpha * np.array([[-1e3, 1.0], [1.0, -4.0]])
    x, status, iterations = linear_solve(solver, 0.0, y, np.zeros(1), alpha, rhs)
    assert status == 0 and iterations <= 2
    assert residual_ratio(x, matrix, rhs) <= 1e-8


# -- settings -------------------------------------------------------------------


@pytest.fixture
def no_compilation(monkeypatch):
    """Fail the test if anything is compiled for the CPU backend."""
    from batchode.backends.cpu import CPUBackend

    def refuse(*args, **kwargs):
        raise AssertionError("compiled before the settings were checked")

    monkeypatch.setattr(CPUBackend, "device_function", refuse)


@pytest.mark.parametrize("key, value, message", [
    ("preconditioner", "ilu", "unknown preconditioner 'ilu'; expected None, 'jacobi' or 'neumann'"),
    ("neumann_terms", 0, "neumann_terms must be an integer >= 1 .*got 0"),
    ("neumann_terms", 2.5, "neumann_terms must be an integer >= 1 .*got 2.5"),
])
def test_bad_settings_raise_before_compilation(no_compilation, key, value, message):
    with pytest.raises(ValueError, match=message):
        batchode.Solver(graded_chain(), method="kvaerno3", linear_solver="gmres", backend="cpu",
                        **{f"loop_algorithm_newton_linear_{key}": value})
    with pytest.raises(ValueError, match=message):
        GMRES(SystemFactory(graded_chain()), **{key: value})


def test_jacobi_without_an_analytic_diagonal_suggests_neumann(no_compilation):
    def decay(t, y, p, dydt):
        dydt[0] = -y[0]

    system = batchode.ODESystem.from_function(decay, ["x"])
    with pytest.raises(ValueError, match="needs the Jacobian's diagonal.*'neumann'"):
        batchode.Solver(system, method="kvaerno3", linear_solver="minres", backend="cpu",
                        loop_algorithm_newton_linear_preconditioner="jacobi")
    # Names are case-insensitive; Neumann needs only products and is accepted.
    solver = MinimalResidual(SystemFactory(system), preconditioner=" Neumann")
    assert solver.settings.preconditioner == "neumann"
    with pytest.raises(ValueError, match="needs the Jacobian's diagonal"):
        solver.update(preconditioner="jacobi")
    assert solver.settings.preconditioner == "neumann"  # the failed update changed nothing


def test_preconditioner_buffers_follow_the_setting_and_move():
    solver = batchode.Solver(graded_chain(), method="kvaerno3", linear_solver="gmres", backend="cpu")
    linear = solver.loop.child("algorithm").child("newton").child("linear").buffer_registry.buffers
    extra = ("preconditioned", "jacobi_diagonal", "jacobian_matrix", "neumann_product")
    assert [linear[name].elements() for name in extra] == [0, 0, 0, 0]
    solver.update(loop_algorithm_newton_linear_preconditioner="jacobi",
                  loop_algorithm_newton_linear_jacobi_diagonal_location="shared")
    linear = solver.loop.child("algorithm").child("newton").child("linear").buffer_registry.buffers
    assert [linear[name].elements() for name in extra] == [N, N, 0, 0]
    assert linear["jacobi_diagonal"].location.value == "shared"
    solver.update(loop_algorithm_newton_linear_preconditioner="neumann")
    linear = solver.loop.child("algorithm").child("newton").child("linear").buffer_registry.buffers
    assert [linear[name].elements() for name in extra] == [N, N, 0, N]  # the series about the diagonal
