"""Summary metrics and chunking on the CUDA kernel path (simulator) agree with the CPU backend."""

import numpy as np
import pytest

import batchode
from batchode.systems.examples import lorenz

pytestmark = pytest.mark.cudasim

OPTIONS = dict(parameters={"rho": [5.0, 28.0]}, save_every=0.02, summarise_every=0.1)
SETTINGS = dict(summaries=["mean", "std", "extrema", "peaks[2]", "dxdt_max"], summarise_variables=["x", "z"],
                rtol=1e-8, atol=1e-8)


def test_summaries_and_chunks_in_the_simulator_match_the_cpu():
    cpu = batchode.solve_ivp(lorenz(), (0.0, 0.2), backend="cpu", **SETTINGS, **OPTIONS)
    solver = batchode.Solver(lorenz(), backend="cuda", **SETTINGS)
    whole = solver.solve((0.0, 0.2), **OPTIONS)
    per_run = solver.solve((0.0, 0.2), chunk_runs=1, **OPTIONS)  # two chunks of one run
    for sim in (whole, per_run):
        np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
        for name, values in cpu.summaries.items():
            np.testing.assert_allclose(sim.summaries[name], values, rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_array_equal(per_run.summaries["mean"], whole.summaries["mean"])
    # window 0 holds samples 0..5 (t = 0 ... 0.1), window 1 samples 6..10
    np.testing.assert_allclose(whole.summaries["mean"][:, 0, 0], whole.y[:, :6, 0].mean(axis=1), rtol=1e-13)
    np.testing.assert_allclose(whole.summaries["mean"][:, 1, 0], whole.y[:, 6:, 0].mean(axis=1), rtol=1e-13)


def test_a_driven_system_in_the_simulator_matches_the_cpu():
    times = np.linspace(0.0, 1.0, 11)
    driven = batchode.ODESystem.from_equations(
        "dx = -k * x + force", parameters={"k": 1.0}, initial_state={"x": 1.0},
        drivers={"force": batchode.Driver(times, np.sin(3 * times), interpolation="linear")})
    options = dict(parameters={"k": [0.5, 2.0]}, method="classical-rk4", step_controller="fixed", dt=0.05,
                   save_every=0.1)
    cpu = batchode.solve_ivp(driven, (0.0, 0.2), backend="cpu", **options)
    sim = batchode.solve_ivp(driven, (0.0, 0.2), backend="cuda", **options)
    np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
