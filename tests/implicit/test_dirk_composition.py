"""DIRK -> Newton -> linear solver: nesting, convergence, buffer moves.

Uses a two-stage SDIRK built here (Alexander's L-stable order-2 method,
gamma = 1 - 1/sqrt(2)), so these tests do not depend on the tableau
library; the library's named implicit methods have their own tests.
"""

import numpy as np
import pytest

import batchode
from batchode.algorithms.tableaus import ButcherTableau
from batchode.systems.examples import harmonic_oscillator

GAMMA = 1.0 - 1.0 / np.sqrt(2.0)
SDIRK = ButcherTableau(
    name="test-sdirk-2", a=((GAMMA, 0.0), (1.0 - GAMMA, GAMMA)), b=(1.0 - GAMMA, GAMMA), c=(GAMMA, 1.0),
    order=2, b_hat=None, embedded_order=None, citation="R. Alexander, SIAM J. Numer. Anal. 14 (1977) 1006",
)
EXACT = np.array([np.cos(4.0), -np.sin(4.0)])


def solver(linear_solver, **settings):
    return batchode.Solver(harmonic_oscillator(), method=SDIRK, step_controller="fixed", dt=0.01,
                           backend="cpu", linear_solver=linear_solver, newton_tolerance=1e-8, **settings)


@pytest.mark.parametrize("linear_solver", ["dense", "sparse", "gmres", "minres"])
def test_order_and_bounded_work_with_each_linear_solver(linear_solver):
    ode = solver(linear_solver)
    steps = [0.04, 0.02, 0.01]
    errors = []
    for dt in steps:
        ode.update(dt=dt)
        result = ode.solve((0.0, 4.0))
        errors.append(np.abs(result.final_state[0] - EXACT).max())
    slopes = np.diff(np.log(errors)) / np.diff(np.log(steps))
    assert np.all(np.abs(slopes - 2.0) < 0.2), slopes
    stages = 2 * result.n_accepted[0]
    # Linear problem: Newton needs 1 iteration plus 1 to confirm; the
    # Krylov solvers need at most n = 2 (GMRES) or a few dozen (steepest
    # descent on a 2x2 system) products per solve.
    assert result.n_newton_iterations[0] <= 2 * stages
    assert result.n_linear_iterations[0] <= {"dense": 2, "sparse": 2, "gmres": 3, "minres": 10}[linear_solver] * stages


def test_tree_shows_newton_and_linear_solver_inside_dirk():
    text = solver("gmres").describe_memory()
    lines = text.splitlines()
    position = {name: next(i for i, l in enumerate(lines) if l.strip().startswith(f"{name} ["))
                for name in ("algorithm", "newton", "linear")}
    indent = {name: len(lines[i]) - len(lines[i].lstrip()) for name, i in position.items()}
    assert position["algorithm"] < position["newton"] < position["linear"]
    assert indent["algorithm"] < indent["newton"] < indent["linear"]
    assert "basis" in text and "stage_base" in text and "trial_residual" in text


MOVES = [
    {"loop_algorithm_stage_derivatives_location": "shared"},
    {"loop_algorithm_newton_delta_location": "local_persistent", "loop_algorithm_newton_residual_location": "shared"},
    {"loop_algorithm_newton_linear_basis_location": "shared", "loop_algorithm_newton_linear_point_location": "shared"},
]


@pytest.mark.parametrize("moves", MOVES)
def test_moving_buffers_changes_totals_not_results(moves):
    ode = solver("gmres")
    before = ode.solve((0.0, 1.0), parameters={"omega": [0.5, 1.0, 2.0]}).y
    registry = ode.kernel.child("body").buffer_registry
    totals = (registry.shared_memory_elements, registry.local_memory_elements, registry.persistent_local_elements)
    ode.update(**moves)
    registry = ode.kernel.child("body").buffer_registry
    after_totals = (registry.shared_memory_elements, registry.local_memory_elements,
                    registry.persistent_local_elements)
    assert after_totals != totals
    after = ode.solve((0.0, 1.0), parameters={"omega": [0.5, 1.0, 2.0]}).y
    np.testing.assert_allclose(after, before, rtol=1e-14, atol=1e-15)


def system_of(kind: str, n: int):
    """``n`` decaying states: uncoupled or all coupled (equations), or a Python function (no known sparsity)."""
    if kind == "function":
        def decay(t, y, p, dydt):
            for i in range(n):
                dydt[i] = -y[i]

        return batchode.ODESystem.from_function(decay, [f"y{i}" for i in range(n)])
    total = " + ".join(f"y{j}" for j in range(n))
    coupling = f" + 0.01 * ({total})" if kind == "coupled" else ""
    return batchode.ODESystem.from_equations("\n".join(f"dy{i} = -y{i}{coupling}" for i in range(n)))


@pytest.mark.parametrize("backend, precision, kind, n, expected", [
    # The sparse LU whenever it costs no more than the largest dense LU chosen (CPU) ...
    ("cpu", "float64", "uncoupled", 200, "SparseLU"), ("cpu", "float64", "coupled", 64, "SparseLU"),
    ("cpu", "float64", "coupled", 65, "GMRES"), ("cpu", "float32", "coupled", 33, "GMRES"),
    # ... or takes no more memory than GMRES's basis (CUDA): 2n for uncoupled states, n**2 + n for coupled ones.
    ("cuda", "float32", "uncoupled", 200, "SparseLU"), ("cuda", "float32", "coupled", 9, "GMRES"),
    # Without a known sparsity: the dense LU up to 64 states on the CPU in float64, 32 in float32, 8 on CUDA.
    ("cpu", "float64", "function", 64, "DenseLU"), ("cpu", "float64", "function", 65, "GMRES"),
    ("cpu", "float32", "function", 32, "DenseLU"), ("cpu", "float32", "function", 33, "GMRES"),
    ("cuda", "float64", "function", 8, "DenseLU"), ("cuda", "float64", "function", 9, "GMRES"),
])
def test_default_linear_solver_by_backend_precision_system_and_size(backend, precision, kind, n, expected):
    from batchode.solvers.linear import make_linear_solver
    from batchode.systems.device import SystemFactory

    solver = make_linear_solver(None, SystemFactory(system_of(kind, n), backend=backend, precision=precision))
    assert type(solver).__name__ == expected


def test_newton_is_compiled_once_for_fresh_and_reused_operators():
    # Both stages share the diagonal GAMMA: the first prepares the operator,
    # the second reuses it. Passed as literals, the flags made numba compile
    # Newton once for each (0.46 s of a 100-state kvaerno5 build).
    ode = solver("dense", cache=False)
    ode.solve((0.0, 0.1))
    newton = ode.kernel.child("body").child("loop").child("algorithm").child("newton").built
    assert len(newton.overloads) == 1
