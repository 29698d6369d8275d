"""The full solve path in the CUDA simulator agrees with the CPU backend."""

import numpy as np
import pytest

import batchode
from batchode.systems.examples import lorenz

pytestmark = pytest.mark.cudasim


# classical-rk4 adapts with a residual estimate: an extra LOCAL buffer and
# the end-point derivative kept in persistent memory between steps.
@pytest.mark.parametrize("method", ["tsit5", "classical-rk4"])
def test_simulator_matches_cpu_on_a_small_batch(method):
    options = dict(parameters={"rho": [5.0, 15.0, 28.0]}, save_every=0.1, rtol=1e-8, atol=1e-8, method=method)
    cpu = batchode.solve_ivp(lorenz(), (0.0, 0.2), backend="cpu", **options)
    sim = batchode.solve_ivp(lorenz(), (0.0, 0.2), backend="cuda", **options)
    np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.n_accepted, cpu.n_accepted)
    np.testing.assert_array_equal(sim.status, cpu.status)


def test_simulator_events_match_cpu():
    """Events in the simulator's loop (run axis last) equal the CPU's: counts, times, states, terminal stop."""
    oscillator = batchode.ODESystem.from_equations("dx = v\ndv = -k * x", parameters={"k": 1.0},
                                                   initial_state={"x": 1.0, "v": 0.0})
    events = [batchode.Event("x", max_records=2), batchode.Event("v", direction=1, terminal=True)]
    options = dict(parameters={"k": [1.0, 9.0]}, save_every=0.5, rtol=1e-8, atol=1e-8, events=events)
    cpu = batchode.solve_ivp(oscillator, (0.0, 4.0), backend="cpu", **options)
    sim = batchode.solve_ivp(oscillator, (0.0, 4.0), backend="cuda", **options)
    assert (cpu.status == int(batchode.Status.TERMINAL_EVENT)).all()
    np.testing.assert_array_equal(sim.event_counts, cpu.event_counts)
    np.testing.assert_allclose(sim.event_times, cpu.event_times, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sim.event_states, cpu.event_states, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sim.t_final, cpu.t_final, rtol=1e-12)
    np.testing.assert_allclose(sim.y, cpu.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.status, cpu.status)
