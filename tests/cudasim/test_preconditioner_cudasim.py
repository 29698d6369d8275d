"""Jacobi-preconditioned GMRES in the CUDA simulator: the same result as the CPU backend."""

import numpy as np
import pytest

import batchode

pytestmark = pytest.mark.cudasim


def test_jacobi_gmres_matches_cpu():
    # Two cells whose decay rates differ 100-fold: the diagonal dominates.
    system = batchode.ODESystem.from_equations("dx = -k*x + c*(y - x)\ndy = -100*k*y + c*(x - y)",
                                               parameters={"k": 1.0, "c": 0.5},
                                               initial_state={"x": 1.0, "y": 1.0})
    results = []
    for backend in ("cpu", "cuda"):
        solver = batchode.Solver(system, method="kvaerno3", step_controller="fixed", dt=0.05, backend=backend,
                                 linear_solver="gmres", loop_algorithm_newton_linear_preconditioner="jacobi")
        results.append(solver.solve((0.0, 0.1), parameters={"k": [1.0, 3.0]}))
    cpu, sim = results
    assert np.all(sim.success)
    np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.n_linear_iterations, cpu.n_linear_iterations)
