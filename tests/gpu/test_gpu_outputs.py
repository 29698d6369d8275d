"""Interpolated saves, an event, summaries and a driver on a real GPU give the CPU backend's results."""

import numpy as np
import pytest
from against_cpu import ATOL, RTOL, assert_same, solve_on_both

import batchode

pytestmark = pytest.mark.gpu


def test_interpolated_saves_and_a_terminal_event_match_the_cpu():
    # x = cos(omega t) falls through zero at omega t = pi/2, 5pi/2, ...; the run
    # stops at the second such crossing, which omega = 1 does not reach by t = 6.
    oscillator = batchode.ODESystem.from_equations("dx = v\ndv = -omega**2 * x", parameters={"omega": 1.0},
                                                   initial_state={"x": 1.0, "v": 0.0})
    omega = np.array([1.0, 2.0, 3.0])
    event = batchode.Event("x", direction=-1, terminal=2, max_records=2)
    gpu, cpu = solve_on_both(oscillator, (0.0, 6.0), dict(events=[event]), parameters={"omega": omega},
                             save_every=0.1)
    assert list(cpu.status) == [0, int(batchode.Status.TERMINAL_EVENT), int(batchode.Status.TERMINAL_EVENT)]
    assert_same(gpu, cpu)
    np.testing.assert_array_equal(gpu.event_counts, cpu.event_counts)
    np.testing.assert_allclose(gpu.event_times, cpu.event_times, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(gpu.event_states, cpu.event_states, rtol=RTOL, atol=ATOL)
    exact = np.pi / omega[:, None] * np.array([0.5, 2.5])
    exact[0, 1] = np.nan  # not reached
    np.testing.assert_allclose(gpu.event_times[:, 0, :], exact, atol=1e-6)


def test_summaries_of_a_driven_system_match_the_cpu():
    times = np.linspace(0.0, 4.0, 41)
    force = batchode.Driver(times, np.sin(2.0 * times), interpolation="linear")
    driven = batchode.ODESystem.from_equations("dx = v\ndv = -k * x - c * v + force", parameters={"k": 1.0, "c": 0.1},
                                               initial_state={"x": 1.0, "v": 0.0}, drivers={"force": force})
    settings = dict(summaries=["mean", "std", "extrema", "peaks[2]", "dxdt_max"], summarise_variables=["x", "v"])
    gpu, cpu = solve_on_both(driven, (0.0, 4.0), settings, parameters={"k": [0.5, 1.0, 4.0]}, save_every=0.05,
                             summarise_every=1.0)
    assert cpu.success.all() and set(cpu.summaries) == {"mean", "std", "extrema", "peaks", "dxdt_max"}
    assert_same(gpu, cpu)
