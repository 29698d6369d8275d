"""SolveResult export: xarray (with NetCDF and Zarr round trips), pandas and the quick-look plot.

Results are built directly (no solve, so nothing compiles): 3 runs x 4 saves
x 2 states, one observable, run 1 stopped with DT_BELOW_MIN|NONFINITE.
"""

import sys

import attrs
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import batchode
from batchode import Status
from batchode.batch.results import SolveResult

T = np.array([0.0, 0.5, 1.0, 1.5])
RHO = np.array([10.0, 20.0, 30.0])


@pytest.fixture
def result():
    runs, saves = np.meshgrid(np.arange(3), np.arange(4), indexing="ij")
    y = np.stack([runs + saves / 10, -(runs + saves / 10)], axis=-1)  # y[r, s] = (r + s/10, -(r + s/10))
    y[1, 2:] = np.nan  # run 1 failed after its second save
    failed = Status.DT_BELOW_MIN | Status.NONFINITE
    return SolveResult(
        t=T, y=y, observables=y[:, :, :1] ** 2, status=np.array([0, failed, 0], np.int32),
        t_final=np.array([1.5, 0.7, 1.5]), y_final=np.nan_to_num(y[:, -1], nan=-1.0),
        n_accepted=np.array([10, 3, 12], np.int32), n_rejected=np.array([1, 5, 0], np.int32),
        n_newton_iterations=np.array([0, 7, 2], np.int32), n_linear_iterations=np.array([0, 9, 4], np.int32),
        n_linear_solver_failures=np.array([0, 2, 0], np.int32), initial_state=np.array([[0.0, 0.0], [1.0, -1.0], [2.0, -2.0]]),
        parameters={"rho": RHO, "beta": np.full(3, 2.5)}, state_names=("u", "v"), observable_names=("energy",),
        method="tsit5", backend="cpu", precision="float64", wall_time=0.25,
    )


@pytest.fixture
def final_result(result):
    """The same runs with only the final state saved and no observables."""
    return attrs.evolve(result, t=T[-1:], y=result.y[:, -1:], observables=None, observable_names=())


def check_dataset(ds, result):
    assert dict(ds.sizes) == {"run": 3, "time": 4, "state": 2, "observable": 1}
    assert ds["y"].dims == ("run", "time", "state")
    assert ds["observables"].dims == ("run", "time", "observable")
    np.testing.assert_array_equal(ds["y"].values, result.y)
    np.testing.assert_array_equal(ds["observables"].values, result.observables)
    np.testing.assert_array_equal(ds["t_final"].values, result.t_final)
    np.testing.assert_array_equal(ds["y_final"].values, result.y_final)
    assert ds["y_final"].dims == ("run", "state")
    np.testing.assert_array_equal(ds["time"].values, T)
    assert list(ds["state"].values) == ["u", "v"]
    assert list(ds["observable"].values) == ["energy"]
    np.testing.assert_array_equal(ds["run"].values, [0, 1, 2])
    np.testing.assert_array_equal(ds["rho"].values, RHO)
    np.testing.assert_array_equal(ds["beta"].values, [2.5] * 3)
    np.testing.assert_array_equal(ds["initial_v"].values, [0.0, -1.0, -2.0])
    for name in ("rho", "beta", "initial_u", "initial_v", "status_name"):
        assert name in ds.coords and ds[name].dims == ("run",)
    assert list(ds["status_name"].values) == ["SUCCESS", "DT_BELOW_MIN|NONFINITE", "SUCCESS"]
    np.testing.assert_array_equal(ds["status"].values, [0, 6, 0])
    np.testing.assert_array_equal(ds["n_accepted"].values, [10, 3, 12])
    np.testing.assert_array_equal(ds["n_rejected"].values, [1, 5, 0])
    np.testing.assert_array_equal(ds["n_linear_iterations"].values, [0, 9, 4])
    flags = [flag for flag in Status if flag]
    assert ds["status"].attrs["flag_meanings"].split() == [flag.name for flag in flags]
    np.testing.assert_array_equal(ds["status"].attrs["flag_masks"], [int(flag) for flag in flags])
    assert {key: ds.attrs[key] for key in ("method", "backend", "precision", "batchode_version")} == {
        "method": "tsit5", "backend": "cpu", "precision": "float64", "batchode_version": batchode.__version__}


def test_to_xarray_dims_coordinates_values(result):
    ds = result.to_xarray()
    check_dataset(ds, result)
    # Selection by parameter value works through the run coordinates.
    assert ds.swap_dims(run="rho").sel(rho=30.0, state="u", time=1.0)["y"].item() == pytest.approx(2.2)


def test_to_xarray_without_observables(final_result):
    ds = final_result.to_xarray()
    assert dict(ds.sizes) == {"run": 3, "time": 1, "state": 2}
    assert "observables" not in ds and "observable" not in ds.coords


def test_netcdf_round_trip(result, tmp_path):
    pytest.importorskip("h5netcdf")
    path = tmp_path / "result.nc"
    result.to_xarray().to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        check_dataset(ds.load(), result)


# Names are stored as variable-length strings, which Zarr v3 specifies (fixed-width ones warn).
@pytest.mark.filterwarnings("error:The data type")
def test_zarr_round_trip(result, tmp_path):
    pytest.importorskip("zarr")
    path = tmp_path / "result.zarr"
    result.to_xarray().to_zarr(path, consolidated=False)
    with xr.open_zarr(path, consolidated=False) as ds:
        check_dataset(ds.load(), result)


def test_name_clash_is_an_error(result):
    clashing = attrs.evolve(result, parameters={"time": RHO})
    with pytest.raises(ValueError, match=r"\['time'\]"):
        clashing.to_xarray()
    with pytest.raises(ValueError, match=r"\['time'\]"):
        attrs.evolve(result, state_names=("time", "v")).to_pandas()


COLUMNS = ["run", "time", "u", "v", "energy", "rho", "beta", "initial_u", "initial_v",
           "status", "status_name", "n_accepted", "n_rejected", "n_newton_iterations", "n_linear_iterations",
           "n_linear_solver_failures"]


def test_to_pandas_tidy(result):
    frame = result.to_pandas()
    assert frame.shape == (12, len(COLUMNS))
    assert list(frame.columns) == COLUMNS
    np.testing.assert_array_equal(frame["run"], np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(frame["time"], np.tile(T, 3))
    np.testing.assert_array_equal(frame[["u", "v"]].to_numpy(), result.y.reshape(12, 2))
    np.testing.assert_array_equal(frame["energy"], result.observables.reshape(12))
    np.testing.assert_array_equal(frame["rho"], np.repeat(RHO, 4))
    np.testing.assert_array_equal(frame["initial_u"], np.repeat([0.0, 1.0, 2.0], 4))
    row = frame[(frame["run"] == 2) & (frame["time"] == 0.5)].iloc[0]
    assert (row["u"], row["v"], row["rho"], row["status_name"]) == (2.1, -2.1, 30.0, "SUCCESS")
    failed = frame[frame["run"] == 1]
    assert set(failed["status_name"]) == {"DT_BELOW_MIN|NONFINITE"} and set(failed["status"]) == {6}
    assert failed["u"].isna().tolist() == [False, False, True, True]
    assert set(failed["n_newton_iterations"]) == {7}


def test_to_pandas_final_only_is_the_last_time_of_each_run(result):
    final = result.to_pandas(final_only=True)
    full = result.to_pandas()
    assert final.shape == (3, len(COLUMNS))
    pd.testing.assert_frame_equal(final, full[full["time"] == T[-1]].reset_index(drop=True))


def test_to_pandas_matches_the_dataset(result):
    """The frame is the Dataset flattened: same values under the same names."""
    from_dataset = result.to_xarray().to_dataframe()["y"].unstack("state").reset_index()
    frame = result.to_pandas()
    np.testing.assert_array_equal(from_dataset[["u", "v"]].to_numpy(), frame[["u", "v"]].to_numpy())


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def test_plot_time_series(result, pyplot):
    axes = result.plot()
    assert isinstance(axes, np.ndarray) and axes.shape == (2,)
    assert [ax.get_ylabel() for ax in axes] == ["u", "v"]
    assert [line.get_label() for line in axes[0].get_lines()] == ["run 0: rho=10", "run 1: rho=20", "run 2: rho=30"]
    np.testing.assert_array_equal(axes[0].get_lines()[2].get_ydata(), result.y[2, :, 0])
    assert axes[0].get_legend() is not None and axes[1].get_legend() is None  # one legend for the shared runs


def test_plot_chosen_variables_and_runs_on_one_axes(result, pyplot):
    _, ax = pyplot.subplots()
    returned = result.plot(variables=["v", "energy"], runs=[0, 2], ax=ax)
    assert returned is ax
    assert len(ax.get_lines()) == 4 and ax.get_ylabel() == "v, energy"
    assert ax.get_lines()[-1].get_label() == "energy, run 2: rho=30"
    with pytest.raises(ValueError, match="unknown variables"):
        result.plot(variables="w")


def test_plot_final_only_against_the_swept_parameter(final_result, pyplot):
    ax = final_result.plot(variables="u")
    assert ax.get_xlabel() == "rho"
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), RHO)
    np.testing.assert_array_equal(line.get_ydata(), final_result.y[:, 0, 0])
    assert ax.get_legend() is None


@pytest.mark.parametrize("module, method, extra", [("xarray", "to_xarray", "export"),
                                                   ("pandas", "to_pandas", "export"),
                                                   ("matplotlib", "plot", "plot")])
def test_missing_library_names_the_extra(result, monkeypatch, module, method, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import <module>` raise ImportError
    with pytest.raises(ImportError, match=rf"needs {module}: pip install 'batchode\[{extra}\]'"):
        getattr(result, method)()


def test_plot_defaults_to_five_evenly_spaced_runs(result, pyplot):
    many = attrs.evolve(result, y=np.repeat(result.y[:1], 11, axis=0), parameters={"rho": np.arange(11.0)})
    ax = many.plot(variables="u")
    assert [line.get_label() for line in ax.get_lines()] == [f"run {i}: rho={i}" for i in (0, 2, 5, 8, 10)]


def test_plot_final_only_without_a_swept_parameter_uses_the_run(final_result, pyplot):
    axes = attrs.evolve(final_result, parameters={"beta": np.full(3, 2.5)}).plot()
    assert axes[-1].get_xlabel() == "run"  # stacked Axes share one x label
    np.testing.assert_array_equal(axes[1].get_lines()[0].get_xdata(), [0, 1, 2])
