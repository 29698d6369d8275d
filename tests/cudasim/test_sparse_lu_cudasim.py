"""The sparse LU in the CUDA simulator: the same result as the CPU backend."""

import numpy as np
import pytest

import batchode
from batchode.systems import examples

pytestmark = pytest.mark.cudasim


def test_sparse_rosenbrock_matches_cpu():
    system = examples.brusselator(2)
    results = []
    for backend in ("cpu", "cuda"):
        solver = batchode.Solver(system, method="rodas4", step_controller="fixed", dt=0.05, backend=backend,
                                 linear_solver="sparse", save_time_series=False)
        results.append(solver.solve((0.0, 0.1), parameters={"B": [3.0, 3.5]}))
    cpu, sim = results
    assert np.all(sim.success)
    np.testing.assert_allclose(sim.final_state, cpu.final_state, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.n_linear_iterations, cpu.n_linear_iterations)
