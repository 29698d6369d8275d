"""Summary metrics and chunking on the CUDA kernel path (simulator) agree with the CPU backend."""

import numpy as np
import pytest

import batchode
from batchode.batch.body import SCHEMA
from batchode.systems.examples import lorenz

pytestmark = pytest.mark.cudasim

OPTIONS = dict(parameters={"rho": [5.0, 28.0]}, save_every=0.02, summarise_every=0.1)
SETTINGS = dict(summaries=["mean", "std", "extrema", "peaks[2]", "dxdt_max"], summarise_variables=["x", "z"],
                rtol=1e-8, atol=1e-8)


@pytest.fixture(scope="module")
def solver():
    return batchode.Solver(lorenz(), backend="cuda", **SETTINGS)


def test_summaries_and_chunks_in_the_simulator_match_the_cpu(solver):
    cpu = batchode.solve_ivp(lorenz(), (0.0, 0.2), backend="cpu", **SETTINGS, **OPTIONS)
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


def test_streamed_chunks_of_uneven_size_and_on_disk_match_one_launch(solver, tmp_path):
    sweep = dict(OPTIONS, parameters={"rho": [5.0, 28.0, 15.0, 21.0, 9.0]})
    whole = solver.solve((0.0, 0.2), **sweep)
    streamed = solver.solve((0.0, 0.2), chunk_runs=2, **sweep)  # 2 + 2 + 1 runs on two streams
    stored = solver.solve((0.0, 0.2), chunk_runs=2, output=tmp_path / "sim.zarr", **sweep)
    assert streamed.chunks_computed == stored.chunks_computed == 3
    for result in (streamed, stored):
        np.testing.assert_array_equal(np.asarray(result.y), whole.y)
        np.testing.assert_array_equal(np.asarray(result.summaries["std"]), whole.summaries["std"])
        np.testing.assert_array_equal(np.asarray(result.n_accepted), whole.n_accepted)


def test_the_next_chunk_is_enqueued_before_the_previous_one_is_awaited(solver):
    batch = solver.prepare((0.0, 0.2), **dict(OPTIONS, parameters={"rho": [5.0, 28.0, 15.0, 21.0, 9.0]}))
    events = []

    def jobs():
        for index, (start, stop) in enumerate([(0, 2), (2, 4), (4, 5)]):
            events.append(("enqueued", index))
            yield index, stop - start, solver.chunk_arguments(batch, start, stop)

    for index, _outputs in solver.kernel.run_chunks(jobs(), SCHEMA.output_positions):
        events.append(("finished", index))
    # two chunks in flight: chunk 2 is made while chunks 0 and 1 run; results come back in order
    assert events == [("enqueued", 0), ("enqueued", 1), ("enqueued", 2),
                      ("finished", 0), ("finished", 1), ("finished", 2)]
