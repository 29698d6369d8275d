"""Per-run inputs (batch.grid): pandas inputs by name, and errors that name the bad value and its run."""

import re

import numpy as np
import pytest

from batchode.batch.grid import GridAxis, RunGrid, build_runs
from batchode.systems import ODESystem

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def oscillator():
    """Parameters k, c (no default) and gamma; states x, v."""
    return ODESystem.from_equations("dx = v\ndv = -k*x - c*v - gamma*x**3", parameters={"k": 1.0, "c": None,
                                                                                        "gamma": 2.0},
                                    initial_state={"x": 1.0, "v": 0.0})


def test_a_data_frame_of_parameters_is_matched_by_column_name(oscillator):
    # Once matched by position: columns [c, k] for a system declaring k, c swapped them.
    frame = pd.DataFrame({"c": [0.5, 0.6, 0.7], "k": [3.0, 4.0, 5.0]})
    _, parameters, _ = build_runs(oscillator, None, frame)
    np.testing.assert_array_equal(parameters, [[3.0, 0.5, 2.0], [4.0, 0.6, 2.0], [5.0, 0.7, 2.0]])
    # One row is one run; a row taken out as a Series is matched by its labels.
    np.testing.assert_array_equal(build_runs(oscillator, None, frame.iloc[:1])[1], [[3.0, 0.5, 2.0]])
    np.testing.assert_array_equal(build_runs(oscillator, None, frame.iloc[1])[1], [[4.0, 0.6, 2.0]])


def test_a_data_frame_of_initial_states_is_matched_by_state_name(oscillator):
    frame = pd.DataFrame({"v": [1.0, 2.0], "x": [-1.0, -2.0]})
    initial, parameters, grid = build_runs(oscillator, frame, {"c": [0.1, 0.2, 0.3]}, grid="combinatorial")
    # The frame's rows are one sweep axis (varying slowest), like a 2-D array's.
    np.testing.assert_array_equal(initial, [[-1.0, 1.0]] * 3 + [[-2.0, 2.0]] * 3)
    np.testing.assert_array_equal(parameters[:, 1], [0.1, 0.2, 0.3] * 2)
    assert grid == RunGrid((GridAxis("state", ("v", "x"), 2), GridAxis("parameter", ("c",), 3)))


def test_the_combinatorial_grid_is_in_c_order_first_input_slowest(oscillator):
    initial, parameters, grid = build_runs(oscillator, {"x": [1.0, 2.0]}, {"c": [0.1, 0.2, 0.3], "k": [5.0, 6.0]},
                                           grid="combinatorial")
    assert grid.shape == (2, 3, 2) and [axis.names for axis in grid.axes] == [("x",), ("c",), ("k",)]
    x, c, k = np.meshgrid([1.0, 2.0], [0.1, 0.2, 0.3], [5.0, 6.0], indexing="ij")
    np.testing.assert_array_equal(initial[:, 0], x.ravel())
    np.testing.assert_array_equal(parameters[:, :2], np.column_stack([k.ravel(), c.ravel()]))
    assert RunGrid.from_json(grid.to_json()) == grid


def test_a_verbatim_grid_is_flat(oscillator):
    *_, grid = build_runs(oscillator, None, {"c": [0.1, 0.2, 0.3], "k": [5.0, 6.0, 7.0]})
    assert grid == RunGrid() and grid.shape == ()


@pytest.mark.parametrize("frame, message", [
    ({"c": [1.0], "kk": [2.0]}, "DataFrame column 'kk' is not a parameter name; the system's parameters are "
                                "['k', 'c', 'gamma']; did you mean 'k'?"),
    (np.ones((2, 3)), "DataFrame column 0 is not a parameter name; the system's parameters are ['k', 'c', 'gamma']; "
                      "a DataFrame's columns are matched by name (pass frame.to_numpy() to match by position)"),
    ({"c": ["fast", "slow"]}, "parameters: the DataFrame's columns must hold numbers"),
    ({"k": [1.0, 2.0]}, "parameter 'c' has no default; supply it (e.g. parameters={'c': ...})"),
])
def test_bad_data_frames_are_refused_by_name(oscillator, frame, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_runs(oscillator, None, pd.DataFrame(frame))


def test_repeated_columns_are_refused(oscillator):
    frame = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["k", "c", "k"])
    with pytest.raises(ValueError, match=re.escape("DataFrame columns ['k'] appear more than once")):
        build_runs(oscillator, None, frame)


def test_a_nan_value_is_named_with_its_run(oscillator):
    # Once: "parameter 'gamma' has no default" for a NaN in a sweep of a parameter with a default.
    with pytest.raises(ValueError, match=re.escape("parameter 'gamma' is nan in run 2 and 1 more run(s); expected "
                                                   "a finite number")):
        build_runs(oscillator, None, {"c": 0.1, "gamma": [1.0, 2.0, np.nan, np.nan]})
    with pytest.raises(ValueError, match=re.escape("initial state 'v' is inf in run 0; expected a finite number")):
        build_runs(oscillator, {"v": np.inf}, {"c": 0.1})
    with pytest.raises(ValueError, match=re.escape("parameter 'k' is nan in run 1;")):
        build_runs(oscillator, None, pd.DataFrame({"k": [1.0, np.nan], "c": [0.1, 0.2]}))
    # A value never supplied is the missing default.
    with pytest.raises(ValueError, match=re.escape("parameter 'c' has no default; supply it")):
        build_runs(oscillator, None, {"gamma": [1.0, 2.0]})


@pytest.mark.parametrize("y0, parameters, grid, name", [
    (None, {"c": []}, "verbatim", "parameter 'c'"),
    (None, {"c": 0.1, "k": np.array([])}, "combinatorial", "parameter 'k'"),
    (np.empty((0, 2)), {"c": 0.1}, "verbatim", "initial state 'x/v'"),
    (None, pd.DataFrame({"c": []}), "verbatim", "parameter 'c'"),
])
def test_an_empty_sweep_is_refused(oscillator, y0, parameters, grid, name):
    with pytest.raises(ValueError, match=re.escape(f"{name}: an empty sweep gives no runs; expected at least one")):
        build_runs(oscillator, y0, parameters, grid)


@pytest.mark.parametrize("parameters, message", [
    ({"c": "fast"}, "parameter 'c': expected a number or a 1-D array of numbers, got 'fast'"),
    ({"c": [0.1, "x"]}, "parameter 'c': expected a number or a 1-D array of numbers, got [0.1, 'x']"),
    ("abc", "parameters: expected a dict by name, a 1-D array of 3 numbers or a 2-D array (runs, 3), got 'abc'"),
])
def test_values_that_are_not_numbers_are_named(oscillator, parameters, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_runs(oscillator, None, parameters)
