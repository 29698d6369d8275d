"""Summary metrics equal numpy's statistics of the saved series of the same run.

The metrics are taken over the save times, so the reference is the saved
time series itself: agreement is to rounding (sums taken in another order),
not to the integrator's tolerance.
"""

import numpy as np
import pytest

import batchode
from batchode.batch.body import SCHEMA
from batchode.outputs import METRICS

SPAN, SAVE_EVERY = (0.0, 2.0), 0.01
SWEEP = {"rho": np.linspace(2.0, 28.0, 6)}


def windows(n_saves: int, per_window: int) -> np.ndarray:
    """Window of every sample: sample 0 joins window 0, sample k window (k - 1) // per_window."""
    k = np.arange(n_saves)
    return np.where(k == 0, 0, (k - 1) // per_window)


def peak_reference(t, series, window, keep, sign=1.0):
    """(count, first ``keep`` times) per window of strict local maxima of ``sign * series``."""
    x = sign * series
    inner = np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] > x[2:])) + 1
    confirmed_in = window[inner + 1]  # a peak is counted in the window of the sample after it
    n_windows = window.max() + 1
    out = np.full((n_windows, 1 + keep), np.nan)
    for w in range(n_windows):
        found = inner[confirmed_in == w]
        out[w, 0] = len(found)
        out[w, 1:1 + min(keep, len(found))] = t[found[:keep]]
    return out


def reference(name, t, series, window, derivative=None):
    """numpy's value of metric ``name`` per window for one variable's series."""
    if name.startswith(("peaks", "negative_peaks")):
        sign = -1.0 if name.startswith("negative") else 1.0
        return peak_reference(t, series, window, int(name.split("[")[1][:-1]), sign)
    reducers = {
        "mean": np.mean, "min": np.min, "max": np.max, "std": np.std,
        "rms": lambda v: np.sqrt(np.mean(v * v)), "max_magnitude": lambda v: np.max(np.abs(v)),
        "extrema": lambda v: np.array([v.min(), v.max()]),
    }
    if name in ("dxdt_max", "dxdt_min"):
        series, reducer = derivative, (np.max if name == "dxdt_max" else np.min)
    else:
        reducer = reducers[name]
    return np.array([reducer(series[window == w]) for w in range(window.max() + 1)])


def test_every_metric_is_tested(value_solver):
    covered = {spec.split("[")[0] for spec in value_solver.settings["summaries"]} | {"dxdt_max", "dxdt_min"}
    assert covered == set(METRICS)


def test_value_metrics_equal_numpy_per_window(value_solver, value_run):
    result = value_run
    assert result.success.all()
    per_window = 50  # summarise_every 0.5 / save_every 0.01
    window = windows(len(result.t), per_window)
    assert len(result.summary_times) == window.max() + 1 == 4
    np.testing.assert_allclose(result.summary_times, [0.5, 1.0, 1.5, 2.0])
    columns = {"x": result.y[:, :, 0], "z": result.y[:, :, 2], "radius2": result.observables[:, :, 0]}
    assert result.summary_variables == ("x", "z", "radius2")
    for spec in value_solver.settings["summaries"]:
        name = spec.split("[")[0]
        values = result.summaries[name]
        for v, variable in enumerate(result.summary_variables):
            for run in range(result.n_runs):
                expected = reference(spec, result.t, columns[variable][run], window)
                got = values[run, :, v]
                scale = max(np.nanmax(np.abs(columns[variable][run])), 1.0)
                np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * scale,
                                           err_msg=f"{spec} of {variable}, run {run}")
    # Lorenz oscillates: the peak counts are not all zero, so the peak checks bite.
    assert result.summaries["peaks"][..., 0].sum() > 10


def test_derivative_metrics_equal_numpy_of_the_right_hand_side(lorenz_radius):
    result = batchode.solve_ivp(lorenz_radius, SPAN, parameters=SWEEP, save_every=SAVE_EVERY,
                                rtol=1e-8, atol=1e-8, backend="cpu", summaries=["dxdt_max", "dxdt_min"],
                                summarise_variables=["y", "z"])
    x, y, z = np.moveaxis(result.y, -1, 0)
    rho, beta = result.parameters["rho"][:, None], 8.0 / 3.0
    derivative = {"y": x * (rho - z) - y, "z": x * y - beta * z}
    window = windows(len(result.t), len(result.t))  # one window: the whole run
    for name in ("dxdt_max", "dxdt_min"):
        for v, variable in enumerate(("y", "z")):
            for run in range(result.n_runs):
                expected = reference(name, result.t, None, window, derivative[variable][run])
                np.testing.assert_allclose(result.summaries[name][run, :, v], expected, rtol=1e-13)


def test_summaries_without_a_time_series(value_solver, value_run, lorenz_radius):
    """No time series: the states output is the final row only, the summaries are unchanged."""
    solver = batchode.Solver(lorenz_radius, method="tsit5", rtol=1e-8, atol=1e-8, backend="cpu",
                             summaries=value_solver.settings["summaries"],
                             summarise_variables=["x", "z", "radius2"], save_time_series=False)
    batch = solver.prepare(SPAN, parameters=SWEEP, save_every=SAVE_EVERY, summarise_every=0.5)
    assert batch.shape.state_rows == 1
    args = solver.chunk_arguments(batch, 0, batch.shape.n_runs)
    assert args[SCHEMA.position("states")].shape == (6, 1, 3)  # the kernel's state output: one row per run
    result = solver.solve(SPAN, parameters=SWEEP, save_every=SAVE_EVERY, summarise_every=0.5)
    assert result.y.shape == (6, 1, 3) and result.t.tolist() == [2.0]
    np.testing.assert_array_equal(result.final_state, value_run.final_state)
    for name, values in value_run.summaries.items():
        np.testing.assert_array_equal(result.summaries[name], values)


def test_a_failed_run_has_nan_summaries_from_its_failure_on_only():
    # y' = a y^2, y(0) = 1 blows up at t = 1/a: runs with a > 1/1.5 fail (here near 0.91 and 0.53).
    blowup = batchode.ODESystem.from_equations("dy = a * y**2", parameters={"a": 1.0},
                                               initial_state={"y": 1.0})
    a = np.array([0.2, 0.5, 1.1, 1.9])
    result = batchode.solve_ivp(blowup, (0.0, 1.5), parameters={"a": a}, save_every=0.05,
                                summarise_every=0.25, summaries=["mean", "max"], backend="cpu",
                                rtol=1e-8, atol=1e-8, max_steps=2000)
    assert result.success.tolist() == [True, True, False, False]
    per_window = 5
    window = windows(len(result.t), per_window)
    finished = np.zeros((len(a), window.max() + 1), bool)
    for run in range(len(a)):
        for w in range(window.max() + 1):
            last_sample = min(per_window * (w + 1), len(result.t) - 1)
            mean, largest = result.summaries["mean"][run, w, 0], result.summaries["max"][run, w, 0]
            finished[run, w] = np.isfinite(result.y[run, last_sample, 0])
            if finished[run, w]:
                assert np.isclose(mean, result.y[run, window == w, 0].mean(), rtol=1e-13)
                assert largest == result.y[run, window == w, 0].max()
            else:
                assert np.isnan(mean) and np.isnan(largest)
    assert finished[:2].all()
    # Each failed run finished its early windows and not its late ones.
    assert finished[2:, 0].all() and not finished[2:, -1].any()


@pytest.mark.parametrize("settings, match", [
    (dict(summaries=["meen"]), "unknown summary metric 'meen'.*'mean'"),
    (dict(summaries=["mean[3]"]), "'mean' takes no argument"),
    (dict(summaries=["peaks[x]"]), "a name such as"),
    (dict(summaries=["mean", "mean"]), "twice"),
    (dict(summaries=["mean"], summarise_variables=["xx"]), "cannot summarise 'xx'.*'x'"),
    (dict(summaries=["dxdt_max"], summarise_variables=["x", "radius2"]), "only states have.*radius2"),
])
def test_bad_summary_settings_fail_before_compiling(lorenz_radius, settings, match):
    with pytest.raises(ValueError, match=match):
        batchode.Solver(lorenz_radius, backend="cpu", **settings)


@pytest.mark.parametrize("solve, match", [
    (dict(), "pass save_every"),
    (dict(save_every=0.1, summarise_every=0.25), "whole multiple of save_every"),
    (dict(save_every=0.1, summarise_every=-1.0), "positive number"),
])
def test_bad_windows_fail_before_compiling(value_solver, solve, match):
    with pytest.raises(ValueError, match=match):
        value_solver.prepare(SPAN, **solve)


def test_windows_without_metrics_are_an_error(lorenz_radius):
    solver = batchode.Solver(lorenz_radius, backend="cpu")
    with pytest.raises(ValueError, match="summarise_every needs summary metrics"):
        solver.prepare(SPAN, save_every=0.1, summarise_every=0.5)
    assert solver.kernel.is_stale  # nothing was compiled
