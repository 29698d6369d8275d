"""Events: zero crossings located between steps, recorded per run, optionally ending the run.

Crossing times are checked against exact ones (the harmonic oscillator's
zeros, a falling ball's impacts) and against scipy's ``events`` (Lorenz
crossing x = 0); direction filters, terminal counts, the record cap, and
that events never change the steps are checked too.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

import batchode
from batchode import Event, Solver, Status

#: Event times are located on the interpolant to 1e-15 of the step, so at
#: rtol = atol = 1e-10 their error is that of the solution near the
#: crossing divided by the crossing slope (here about 1): measured 1e-11
#: for the oscillator; 1e-8 leaves room for the ball's restarts, which
#: carry each impact's error into the next.
TIME_TOLERANCE = 1e-8


@pytest.fixture(scope="module")
def oscillator():
    return batchode.ODESystem.from_equations("dx = v\ndv = -k * x\nenergy = 0.5 * (v**2 + k * x**2)",
                                             parameters={"k": 1.0}, initial_state={"x": 1.0, "v": 0.0})


@pytest.fixture(scope="module")
def oscillator_events(oscillator):
    """x's zeros falling, rising and both (three records only), and a level of the observable."""
    events = [Event("x", direction=-1, name="falling"), Event("x", direction=1, name="rising"),
              Event("x", max_records=3, name="both"), Event("energy - 0.25 * k", name="never")]
    return Solver(oscillator, rtol=1e-10, atol=1e-10, backend="cpu", events=events)


def test_zero_crossings_of_the_oscillator_by_direction(oscillator_events):
    """x = cos(sqrt(k) t): falling zeros at (pi/2 + 2 pi m)/sqrt(k), rising at (3 pi/2 + 2 pi m)/sqrt(k)."""
    k = np.array([1.0, 4.0])
    res = oscillator_events.solve((0.0, 10.0), parameters={"k": k})
    assert res.event_names == ("falling", "rising", "both", "never")
    assert res.success.all() and (res.status == 0).all()
    for run, stiffness in enumerate(k):
        omega = np.sqrt(stiffness)
        zeros = (np.pi / 2 + np.pi * np.arange(20)) / omega
        zeros = zeros[zeros < 10.0]
        falling, rising = zeros[0::2], zeros[1::2]
        counts = res.event_counts[run]
        assert counts.tolist() == [len(falling), len(rising), len(zeros), 0]
        np.testing.assert_allclose(res.event_times[run, 0, :len(falling)], falling, atol=TIME_TOLERANCE)
        np.testing.assert_allclose(res.event_times[run, 1, :len(rising)], rising, atol=TIME_TOLERANCE)
        # 'both' counts every zero but records only its first three.
        np.testing.assert_allclose(res.event_times[run, 2, :3], zeros[:3], atol=TIME_TOLERANCE)
        assert np.isnan(res.event_times[run, 2, 3:]).all() and np.isnan(res.event_times[run, 3]).all()
        # The recorded states: x = 0 and v = -+omega.
        states = res.event_states[run, 0, :len(falling)]
        np.testing.assert_allclose(states[:, 0], 0.0, atol=1e-8)
        np.testing.assert_allclose(states[:, 1], -omega, rtol=1e-8)


def test_events_never_change_the_steps(oscillator, oscillator_events):
    plain = Solver(oscillator, rtol=1e-10, atol=1e-10, backend="cpu")
    with_events = oscillator_events.solve((0.0, 10.0), parameters={"k": [1.0, 4.0]}, save_every=0.5)
    without = plain.solve((0.0, 10.0), parameters={"k": [1.0, 4.0]}, save_every=0.5)
    np.testing.assert_array_equal(with_events.n_accepted, without.n_accepted)
    np.testing.assert_array_equal(with_events.y, without.y)


def test_terminal_after_k_occurrences_ends_the_run_there(oscillator):
    """terminal=3 stops at the third zero of x, a success; the saves after it are NaN."""
    solver = Solver(oscillator, rtol=1e-10, atol=1e-10, backend="cpu", events=[Event("x", terminal=3)])
    res = solver.solve((0.0, 20.0), save_every=1.0)
    third = 5 * np.pi / 2
    assert res.status[0] == int(Status.TERMINAL_EVENT) and res.success[0]
    assert res.status_names()[0] == "TERMINAL_EVENT"
    assert abs(res.t_final[0] - third) < TIME_TOLERANCE
    np.testing.assert_allclose(res.y_final[0], [0.0, -1.0], atol=1e-8)
    np.testing.assert_array_equal(res.final_state, res.y_final)  # the run finished where the event ended it
    assert res.event_counts[0, 0] == 3
    reached = res.t <= third
    assert np.isfinite(res.y[0, reached]).all() and np.isnan(res.y[0, ~reached]).all()
    np.testing.assert_allclose(res.y[0, reached, 0], np.cos(res.t[reached]), atol=1e-8)


def test_bouncing_ball_by_restarts_from_terminal_impacts():
    """h'' = -g, stopped at each impact (h falling through 0) and restarted with v -> -e v.

    Impact k (k = 0, 1, ...) comes at sqrt(2 h0 / g) + 2 v0 / g * (e + ... + e^k),
    v0 = sqrt(2 g h0) the first impact's speed.
    """
    g, h0, restitution = 9.81, 10.0, 0.8
    ball = batchode.ODESystem.from_equations("dh = v\ndv = -g", parameters={"g": g},
                                             initial_state={"h": h0, "v": 0.0})
    solver = Solver(ball, rtol=1e-10, atol=1e-10, backend="cpu", events=[Event("h", direction=-1, terminal=True)])
    v0 = np.sqrt(2 * g * h0)
    expected = np.sqrt(2 * h0 / g) + 2 * v0 / g * np.cumsum([0.0] + [restitution**j for j in range(1, 4)])
    t, state, impacts = 0.0, [h0, 0.0], []
    for _ in range(4):
        res = solver.solve((t, t + 100.0), y0=state)
        assert res.status[0] == int(Status.TERMINAL_EVENT)
        t = res.t_final[0]
        impacts.append(t)
        state = [0.0, -restitution * res.y_final[0, 1]]
        assert abs(res.y_final[0, 0]) < 1e-9  # it stopped on the ground
    np.testing.assert_allclose(impacts, expected, atol=TIME_TOLERANCE)


def test_lorenz_crossings_of_x_zero_match_scipy_events():
    lorenz = batchode.ODESystem.from_equations(
        "dx = sigma * (y - x)\ndy = x * (rho - z) - y\ndz = x * y - beta * z",
        parameters={"sigma": 10.0, "rho": 28.0, "beta": 8 / 3}, initial_state={"x": 1.0, "y": 0.0, "z": 0.0})
    solver = Solver(lorenz, rtol=1e-10, atol=1e-10, backend="cpu", events=[Event("x", max_records=64)])
    start = [-8.0, 7.0, 27.0]  # on the attractor: 6 and 8 crossings by t = 10
    res = solver.solve((0.0, 10.0), y0=start, parameters={"rho": [28.0, 35.0]})

    def crossing(t, u):
        return u[0]

    for run, rho in enumerate([28.0, 35.0]):
        reference = scipy_solve_ivp(
            lambda t, u: [10.0 * (u[1] - u[0]), u[0] * (rho - u[2]) - u[1], u[0] * u[1] - 8 / 3 * u[2]],
            (0.0, 10.0), start, method="DOP853", rtol=1e-12, atol=1e-12, events=crossing)
        times = reference.t_events[0]
        assert res.event_counts[run, 0] == len(times) >= 6
        # Chaos amplifies the 1e-10 tolerance by about e^(0.9 t) ~ 1e4 by t = 10.
        np.testing.assert_allclose(res.event_times[run, 0, :len(times)], times, atol=1e-5)


def test_backward_integration_finds_crossings_along_its_direction(oscillator):
    """From t = 10 back to 0, x = cos t rises (as time runs backwards) through its zeros at 5 pi/2 and pi/2.

    Those are the zeros where cos decreases in t; the one at 3 pi/2 falls.
    """
    solver = Solver(oscillator, rtol=1e-10, atol=1e-10, backend="cpu", events=[Event("x", direction=1)])
    res = solver.solve((10.0, 0.0), y0=[np.cos(10.0), -np.sin(10.0)])
    np.testing.assert_allclose(res.event_times[0, 0, :2], [5 * np.pi / 2, np.pi / 2], atol=TIME_TOLERANCE)
    assert res.event_counts[0, 0] == 2


def test_event_results_in_xarray(oscillator_events):
    pytest.importorskip("xarray")
    res = oscillator_events.solve((0.0, 10.0), parameters={"k": [1.0, 4.0]})
    ds = res.to_xarray()
    assert ds["event_times"].dims == ("run", "event", "occurrence")
    assert ds["event_states"].dims == ("run", "event", "occurrence", "state")
    assert list(ds["event"].values) == ["falling", "rising", "both", "never"]
    np.testing.assert_array_equal(ds["event_counts"].values, res.event_counts)
