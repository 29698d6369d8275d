"""DIRK -> Newton -> GMRES in the CUDA simulator: same results as the CPU, wherever buffers live."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import batchode
from batchode.systems.examples import harmonic_oscillator

pytestmark = pytest.mark.cudasim

_spec = importlib.util.spec_from_file_location(
    "dirk_composition", Path(__file__).resolve().parents[1] / "implicit" / "test_dirk_composition.py")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
SDIRK = _module.SDIRK


@pytest.mark.parametrize("moves", [{}, {"loop_algorithm_newton_linear_basis_location": "shared",
                                        "loop_algorithm_newton_delta_location": "local_persistent"}])
def test_simulator_matches_cpu(moves):
    results = []
    for backend in ("cpu", "cuda"):
        solver = batchode.Solver(harmonic_oscillator(), method=SDIRK, step_controller="fixed", dt=0.1,
                                 backend=backend, linear_solver="gmres", newton_tolerance=1e-8, **moves)
        results.append(solver.solve((0.0, 0.3), parameters={"omega": [1.0, 2.0]}))
    cpu, sim = results
    np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.n_newton_iterations, cpu.n_newton_iterations)
