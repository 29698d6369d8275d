"""End-to-end behaviour of solve_ivp / Solver on the CPU backend."""

import numpy as np
import pytest

import batchode
from batchode import ODESystem, Solver, Status
from batchode.algorithms import available_methods, get_tableau
from batchode.systems.examples import harmonic_oscillator, lorenz


@pytest.mark.parametrize("method", available_methods("erk").names)
def test_observed_convergence_order(method):
    """Slope of the global error on x'' = -x (exact cos/sin) within 0.2 of the order.

    Step sizes are chosen per order so the error stays well above float64
    round-off (1e-13); the slope is taken on the finest pair, the one in the
    asymptotic range (Tsit5's and Vern7's leading error terms nearly cancel
    on this problem, so coarser pairs show slopes 0.3-0.4 above the order).
    """
    order = get_tableau(method).order
    solver = Solver(harmonic_oscillator(), method=method, step_controller="fixed", dt=0.1,
                    max_steps=10**6, backend="cpu")
    steps = {1: [1e-3, 5e-4, 2.5e-4], 2: [1e-2, 5e-3, 2.5e-3], 3: [4e-2, 2e-2, 1e-2],
             4: [0.1, 0.05, 0.025], 5: [0.1, 0.05, 0.025]}.get(order, [0.5, 0.25, 0.125])
    errors = []
    for dt in steps:
        solver.update(dt=dt)
        result = solver.solve((0.0, 4.0))
        exact = np.array([np.cos(4.0), -np.sin(4.0)])
        errors.append(np.abs(result.final_state[0] - exact).max())
    slopes = np.diff(np.log(errors)) / np.diff(np.log(steps))
    assert abs(slopes[-1] - order) < 0.2, (method, errors, slopes)
    assert np.all(slopes > order - 0.2), (method, errors, slopes)


def test_save_every_hits_exact_times_and_observables():
    system = ODESystem.from_equations(["dx = v", "dv = -x", "energy = 0.5 * (x**2 + v**2)"],
                                      initial_state={"x": 1.0, "v": 0.0})
    result = batchode.solve_ivp(system, (0.0, 1.0), save_every=0.3, rtol=1e-10, atol=1e-10, backend="cpu")
    np.testing.assert_allclose(result.t, [0.0, 0.3, 0.6, 0.9, 1.0], rtol=1e-15)
    np.testing.assert_allclose(result.y[0, :, 0], np.cos(result.t), atol=1e-8)
    np.testing.assert_allclose(result.observables[0, :, 0], 0.5, atol=1e-8)
    assert result.observable_names == ("energy",)


def test_blow_up_and_dt_min_mark_only_their_own_runs():
    system = ODESystem.from_equations(["dy = k * y**2"], parameters=["k"], initial_state={"y": 1.0})
    k = np.array([0.1, 2.0, 0.2])  # k = 2 blows up at t = 0.5
    result = batchode.solve_ivp(system, (0.0, 1.0), parameters={"k": k}, rtol=1e-8, atol=1e-8, backend="cpu")
    assert result.status[1] & Status.DT_BELOW_MIN
    assert list(result.status[[0, 2]]) == [0, 0]
    np.testing.assert_allclose(result.final_state[[0, 2], 0], 1.0 / (1.0 - k[[0, 2]]), rtol=1e-7)
    assert np.isnan(result.final_state[1, 0])
    assert "DT_BELOW_MIN" in result.status_names()[1]


def test_max_steps_flag():
    result = batchode.solve_ivp(lorenz(), (0.0, 10.0), rtol=1e-10, atol=1e-10, max_steps=20, backend="cpu")
    assert result.status[0] == Status.MAX_STEPS
    assert result.n_accepted[0] + result.n_rejected[0] == 20


def test_combinatorial_and_verbatim_grids():
    system = lorenz()
    result = batchode.solve_ivp(system, (0.0, 0.1), parameters={"rho": [10.0, 20.0], "sigma": [9.0, 10.0, 11.0]},
                                grid="combinatorial", backend="cpu")
    assert result.n_runs == 6
    np.testing.assert_array_equal(result.parameters["rho"], [10, 10, 10, 20, 20, 20])
    np.testing.assert_array_equal(result.parameters["sigma"], [9, 10, 11, 9, 10, 11])
    with pytest.raises(ValueError, match="one length.*rho: 2.*sigma: 3"):
        batchode.solve_ivp(system, (0.0, 0.1), parameters={"rho": [10.0, 20.0], "sigma": [9.0, 10.0, 11.0]},
                           backend="cpu")


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="tsit6"), "tsit5"),
    (dict(step_controller="pii"), "'pi'"),
    (dict(step_controller="fixed"), "needs a step"),
    (dict(method="ralston-33", step_controller="pi"), "'ralston-33' has no error estimate"),
    (dict(precision="float16"), "float32"),
    (dict(backend="gpu"), "unknown backend"),
    (dict(rtol=-1.0), "rtol must be finite and non-negative, got -1.0"),
    (dict(loop_stat_location="shared"), "loop_state_location"),
])
def test_bad_settings_raise_before_compiling(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Solver(lorenz(), **{"backend": "cpu", **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    (dict(parameters={"rhoo": [1.0]}), "did you mean 'rho'"),
    (dict(parameters={"rho": [1.0, np.nan]}), "rho.*finite"),
    (dict(y0=np.ones((2, 4))), "shape"),
    (dict(t_span=(1.0, 1.0)), "two different finite times"),
])
def test_bad_inputs_raise_before_launch(kwargs, message):
    solver = Solver(lorenz(), backend="cpu")
    t_span = kwargs.pop("t_span", (0.0, 1.0))
    with pytest.raises(ValueError, match=message):
        solver.solve(t_span, **kwargs)


@pytest.mark.parametrize("name", ["i", "pi", "pid", "gustafsson"])
def test_controllers_all_reach_tolerance(julia, name):
    # Eight members of the Julia ensemble; its golden states are exact to 1e-13.
    members = np.linspace(0, len(julia.rho) - 1, 8).astype(int)
    result = batchode.solve_ivp(lorenz(), (0.0, 1.0), parameters={"rho": julia.rho[members]}, rtol=1e-7,
                                atol=1e-7, step_controller=name, backend="cpu")
    assert result.success.all()
    assert np.abs(result.final_state - julia.golden[members]).max() < 1e-4
    assert result.n_accepted.max() < 400 and result.n_rejected.max() < 50


def test_describe_memory_and_location_update_keep_results():
    solver = Solver(lorenz(), backend="cpu")
    before = solver.solve((0.0, 1.0)).final_state
    text = solver.describe_memory()
    assert "stage_derivatives" in text and "fsal_cache" in text and "history" in text
    solver.update(loop_state_location="shared", loop_algorithm_stage_derivatives_location="local_persistent")
    assert "stage_derivatives    local_persistent" in solver.describe_memory()
    np.testing.assert_array_equal(solver.solve((0.0, 1.0)).final_state, before)


def test_automatic_first_step_adapts_to_the_time_scale():
    system = ODESystem.from_equations(["dy = -k * y"], parameters=["k"], initial_state={"y": 1.0})
    k = np.array([1.0, 1e2, 1e4])
    result = batchode.solve_ivp(system, (0.0, 1e-3), parameters={"k": k}, rtol=1e-8, atol=1e-12, backend="cpu")
    assert result.success.all()
    np.testing.assert_allclose(result.final_state[:, 0], np.exp(-k * 1e-3), rtol=1e-6)
    # Work stays bounded over time scales four decades apart: the automatic
    # first step starts near each run's own scale (a few rejections at most
    # while the PI history settles), and the step count stays small.
    assert result.n_rejected.max() <= 5
    assert result.n_accepted.max() <= 200
