"""Results of a combinatorial sweep keep its grid: in ``to_xarray()``, in a Zarr store, in the plot's run choice.

One solver for ``dx = -k*x + a`` (exact solution known) compiles once for
the module; final states only, so a 200 x 200 grid is cheap.
"""

import attrs
import numpy as np
import pytest
import xarray as xr

import batchode
from batchode.batch.export import spread_runs
from batchode.batch.grid import GridAxis, RunGrid

T1 = 0.5


def exact(x0, k, a):
    """x(T1) of dx = -k*x + a."""
    return a / k + (x0 - a / k) * np.exp(-k * T1)


@pytest.fixture(scope="module")
def solver():
    system = batchode.ODESystem.from_equations("dx = -k*x + a + 0*c", parameters={"k": 1.0, "a": 0.0, "c": 3.0},
                                               initial_state={"x": 1.0})
    return batchode.Solver(system, method="tsit5", rtol=1e-8, atol=1e-10, backend="cpu", save_time_series=False)


@pytest.fixture(scope="module")
def sweep(solver):
    k = np.linspace(0.5, 2.0, 200)
    a = np.linspace(-1.0, 1.0, 200)
    result = solver.solve((0.0, T1), parameters={"k": k, "a": a}, grid="combinatorial", progress=False)
    return k, a, result


def test_a_200_by_200_grid_has_one_dim_per_swept_parameter(sweep):
    k, a, result = sweep
    assert result.grid == RunGrid((GridAxis("parameter", ("k",), 200), GridAxis("parameter", ("a",), 200)))
    ds = result.to_xarray()
    assert ds["y"].dims == ("k", "a", "time", "state") and ds["status"].dims == ("k", "a")
    assert dict(ds.sizes) == {"k": 200, "a": 200, "time": 1, "state": 1}
    np.testing.assert_array_equal(ds["k"].values, k)
    np.testing.assert_array_equal(ds["a"].values, a)
    assert ds["c"].dims == () and ds["c"].item() == 3.0  # not swept: one value
    # The hand-built grid, value by value: point (i, j) is run i * 200 + j, with k[i] and a[j].
    K, A = np.meshgrid(k, a, indexing="ij")
    runs = np.arange(200 * 200).reshape(200, 200)
    np.testing.assert_array_equal(ds["run"].values, runs)
    np.testing.assert_array_equal(result.parameters["k"][runs], K)
    np.testing.assert_array_equal(result.parameters["a"][runs], A)
    final = ds["y"].isel(time=-1, state=0).values
    np.testing.assert_array_equal(final, result.final_state[runs, 0])
    np.testing.assert_allclose(final, exact(1.0, K, A), rtol=1e-6, atol=1e-8)
    assert (ds["status"].values == 0).all()
    point = ds["y"].sel(k=k[17], a=a[123]).item()
    assert point == result.final_state[17 * 200 + 123, 0]
    # Back to one run dim, in run order.
    flat = ds.stack(flat=list(ds["run"].dims))
    np.testing.assert_array_equal(flat["run"].values, np.arange(200 * 200))


def test_the_plot_picks_runs_that_differ_in_every_swept_parameter(sweep):
    k, a, result = sweep
    runs = spread_runs(result, 5)
    assert len(runs) == 5 and list(runs) == sorted(runs)
    assert len(set(result.parameters["k"][runs])) == 5
    assert len(set(result.parameters["a"][runs])) == 5
    # The corners of the grid are among them: the sweep's whole range shows.
    assert runs[0] == 0 and runs[-1] == 200 * 200 - 1


def test_a_flat_batch_spreads_runs_evenly(sweep):
    _, _, result = sweep
    flat = spread_runs(attrs.evolve(result, grid=RunGrid()), 5)
    np.testing.assert_array_equal(flat, np.linspace(0, 200 * 200 - 1, 5).round())


def test_a_grid_of_initial_states_and_parameters_survives_a_zarr_store(solver, tmp_path):
    x0 = np.array([0.0, 1.0, 2.0])
    k = np.array([0.5, 1.0, 1.5, 2.0, 2.5])
    # Chunks of 4 runs do not line up with the grid's rows of 5: the lazy reshape must still be right.
    result = solver.solve((0.0, T1), y0={"x": x0}, parameters={"k": k, "a": 0.25}, grid="combinatorial",
                          output=tmp_path / "sweep.zarr", chunk_runs=4, progress=False)
    reopened = batchode.open_result(tmp_path / "sweep.zarr")
    expected = RunGrid((GridAxis("state", ("x",), 3), GridAxis("parameter", ("k",), 5)))
    assert result.grid == reopened.grid == expected
    ds = reopened.to_xarray()
    assert ds["y"].dims == ("initial_x", "k", "time", "state")
    np.testing.assert_array_equal(ds["initial_x"].values, x0)
    np.testing.assert_array_equal(ds["k"].values, k)
    X0, K = np.meshgrid(x0, k, indexing="ij")
    np.testing.assert_allclose(ds["y"].isel(time=-1, state=0).values, exact(X0, K, 0.25), rtol=1e-6, atol=1e-8)


def test_a_grid_dataset_writes_to_netcdf(sweep, tmp_path):
    _, _, result = sweep
    ds = result.to_xarray()
    ds.to_netcdf(tmp_path / "grid.nc")
    with xr.open_dataset(tmp_path / "grid.nc") as back:
        xr.testing.assert_identical(back.load(), ds)


def test_a_grid_that_does_not_match_the_runs_is_refused(sweep):
    _, _, result = sweep
    with pytest.raises(ValueError, match=r"grid of shape \(3, 4\) holds 12 runs, but the result has 40000"):
        attrs.evolve(result, grid=RunGrid((GridAxis("parameter", ("k",), 3), GridAxis("parameter", ("a",), 4))))


def test_rows_of_a_2d_array_are_one_grid_dim(solver):
    parameters = np.array([[1.0, 0.0, 3.0], [2.0, 0.5, 3.0]])  # two rows of (k, a, c)
    result = solver.solve((0.0, T1), y0={"x": [0.0, 1.0, 2.0]}, parameters=parameters, grid="combinatorial",
                          progress=False)
    ds = result.to_xarray()
    assert ds["y"].dims == ("initial_x", "parameter_row", "time", "state")
    np.testing.assert_array_equal(ds["parameter_row"].values, [0, 1])
    assert ds["k"].dims == ("parameter_row",)
    np.testing.assert_array_equal(ds["a"].values, [0.0, 0.5])
