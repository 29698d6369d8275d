"""Export a :class:`~batchode.batch.results.SolveResult` to xarray, pandas or a quick matplotlib plot.

This module reads a result's fields and never imports
:mod:`batchode.batch.results` (whose methods call it), so the two do not
import each other.

xarray and pandas (extra ``export``) and matplotlib (extra ``plot``) are
optional: each is imported only when a conversion asks for it, so
``import batchode`` stays light.

Names shared by the Dataset and the DataFrame: every parameter keeps its
name and the initial value of state ``x`` is ``initial_x``; ``status`` is
the integer code (:class:`batchode.Status` flags) and ``status_name`` its
readable form (``"SUCCESS"``, ``"DT_BELOW_MIN|NONFINITE"``...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import numpy as np

from batchode.counters import Counter
from batchode.status import Status, decode
from batchode.version import __version__

if TYPE_CHECKING:
    import pandas
    import xarray

#: Prefix of the initial-value coordinates and columns: state ``x`` -> ``initial_x``.
INITIAL_PREFIX = "initial_"

#: Runs a time-series plot shows when none are chosen (see :func:`spread_runs`).
DEFAULT_PLOT_RUNS = 5

#: The dim of a combinatorial grid's axis that sweeps several columns at once
#: (the rows of a 2-D array or DataFrame), by the kind of input it sets.
ROW_DIMS = {"state": "initial_state_row", "parameter": "parameter_row"}

#: Per-run work counters, exported under their attribute names.
COUNTERS = tuple(counter.field for counter in Counter)

#: Names the Dataset uses itself; parameters and ``initial_<state>`` must avoid them.
DATASET_NAMES = ("run", "time", "state", "observable", "y", "observables", "status", "status_name", "t_final",
                 "y_final", "event", "occurrence", "event_counts", "event_times", "event_states", *COUNTERS)


def _require(module: str, feature: str, extra: str):
    """Import an optional library, or say which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"{feature} needs {module}: pip install 'batchode[{extra}]'") from error


def _check_distinct(names, table: str) -> None:
    """Raise if a parameter or state name collides with another name in ``table``."""
    seen, clashes = set(), set()
    for name in names:
        (clashes if name in seen else seen).add(name)
    if clashes:
        raise ValueError(f"cannot build the {table}: the names {sorted(clashes)} are used twice "
                         "(a parameter or state named like an exported field); rename them in the system")


def _export_name(kind: str, name: str) -> str:
    """The export name of an input: a parameter's own name, ``initial_<state>`` for a state."""
    return INITIAL_PREFIX + name if kind == "state" else name


def _axis_dim(axis) -> str:
    """The Dataset dim of a grid axis: its input's export name, or :data:`ROW_DIMS` for several columns."""
    return _export_name(axis.kind, axis.names[0]) if len(axis.names) == 1 else ROW_DIMS[axis.kind]


def _run_inputs(result) -> list[tuple[str, np.ndarray]]:
    """Per-run inputs by export name: the parameters, then ``initial_<state>``."""
    initial = [(_export_name("state", name), result.initial_state[:, j]) for j, name in enumerate(result.state_names)]
    return [*result.parameters.items(), *initial]


def _strings(values) -> np.ndarray:
    """Variable-length (object) strings: Zarr v3 specifies those, not numpy's fixed-width unicode."""
    return np.array(values, dtype=object)


def _lazy(values):
    """A result array for xarray: Zarr arrays of a stored result stay on disk as Dask arrays.

    Without Dask (extra ``distributed``) they are read into memory.
    """
    if isinstance(values, np.ndarray):
        return values
    try:
        import dask.array
    except ImportError:
        return np.asarray(values)
    return dask.array.from_zarr(values)


def to_xarray(result) -> xarray.Dataset:
    """The result as an ``xarray.Dataset``.

    Parameters
    ----------
    result : SolveResult

    Returns
    -------
    xarray.Dataset
        Dimensions ``run``, ``time``, ``state`` and, when observables were
        saved, ``observable``. On a combinatorial grid (``result.grid``
        has axes) the ``run`` dim is replaced by the grid's dims, one per
        swept input in run order (the first varying slowest): the input's
        export name (a parameter's name, ``initial_<state>``), or
        ``parameter_row`` / ``initial_state_row`` for the rows of a 2-D
        array or DataFrame swept as one axis. Below, "run" stands for
        those dims.

        Data variables: ``y`` (run, time, state), ``observables`` (run,
        time, observable) when saved, ``summary_<metric>`` (run, window,
        summary_variable[, <metric>_component]) for every summary metric,
        with the coordinate ``window_end`` along ``window``, and along
        ``run``: ``status``,
        ``n_accepted``, ``n_rejected``, ``n_newton_iterations``,
        ``n_linear_iterations`` and ``n_linear_solver_failures``. ``status`` carries the CF attributes
        ``flag_masks`` and ``flag_meanings``.

        Coordinates: ``run`` (0, 1, ...: the run index, over the grid's
        dims on a grid), ``time`` (the saved times), ``state`` and
        ``observable`` (names), every parameter by name and
        ``initial_<state>`` for every state (along ``run``; on a grid,
        along the dim that sweeps it, or a scalar when none does), and
        ``status_name`` along ``run``.

        Attributes: ``method``, ``backend``, ``precision``,
        ``batchode_version`` and ``wall_time`` (seconds).

    Raises
    ------
    ImportError
        Without xarray (``pip install 'batchode[export]'``).
    ValueError
        When a parameter or ``initial_<state>`` name is one the Dataset
        uses itself (``time``, ``y``, ``status``...).

    Notes
    -----
    For a result written to a Zarr store (``output=``), ``y`` and
    ``observables`` are Dask arrays reading the store lazily (when Dask is
    installed). The Dataset writes to NetCDF (``ds.to_netcdf(path)``, with h5netcdf or
    netCDF4) and Zarr (``ds.to_zarr(path)``) and reads back with names and
    coordinates intact. A grid's Dataset goes back to one ``run`` dim, in
    run order, with ``ds.stack(flat=list(ds["run"].dims))``.
    """
    xr = _require("xarray", "SolveResult.to_xarray", "export")
    inputs = _run_inputs(result)
    run_dims = tuple(_axis_dim(axis) for axis in result.grid.axes) or ("run",)
    row_dims = [dim for dim in run_dims if dim in ROW_DIMS.values()]
    _check_distinct([*DATASET_NAMES, *(name for name, _ in inputs), *row_dims], "Dataset")
    on_grid = _grid_reshaper(result)
    flags = [flag for flag in Status if flag]
    status = xr.Variable(run_dims, on_grid(result.status), attrs={
        "flag_masks": np.array([int(flag) for flag in flags], dtype=result.status.dtype),
        "flag_meanings": " ".join(flag.name for flag in flags)})
    data = {"y": ((*run_dims, "time", "state"), on_grid(_lazy(result.y))), "status": status,
            "t_final": (run_dims, on_grid(result.t_final)),
            "y_final": ((*run_dims, "state"), on_grid(result.y_final)),
            **{name: (run_dims, on_grid(getattr(result, name))) for name in COUNTERS}}
    coords = {**_run_coordinates(result, inputs, run_dims), "time": result.t,
              "state": _strings(result.state_names)}
    if result.observables is not None:
        data["observables"] = ((*run_dims, "time", "observable"), on_grid(_lazy(result.observables)))
        coords["observable"] = _strings(result.observable_names)
    _add_summaries(result, run_dims, on_grid, data, coords)
    _add_events(result, run_dims, on_grid, data, coords)
    coords["status_name"] = (run_dims, on_grid(_strings(decode(result.status))))
    attrs = {"method": result.method, "backend": result.backend, "precision": result.precision,
             "batchode_version": __version__, "wall_time": float(result.wall_time)}
    return xr.Dataset(data, coords, attrs)


def _add_summaries(result, run_dims, on_grid, data: dict, coords: dict) -> None:
    """``summary_<metric>`` variables and their coordinates (nothing without summaries)."""
    if result.summaries:
        coords["window_end"] = ("window", result.summary_times)
        coords["summary_variable"] = _strings(result.summary_variables)
    for name, values in result.summaries.items():
        dims = (*run_dims, "window", "summary_variable")
        components = result.summary_components[name]
        if len(components) > 1:
            dims += (f"{name}_component",)
            coords[f"{name}_component"] = _strings(components)
        data[f"summary_{name}"] = (dims, on_grid(values))


def _add_events(result, run_dims, on_grid, data: dict, coords: dict) -> None:
    """The event variables and the ``event`` coordinate (nothing without events)."""
    if result.event_names:
        coords["event"] = _strings(result.event_names)
        data["event_counts"] = ((*run_dims, "event"), on_grid(result.event_counts))
        data["event_times"] = ((*run_dims, "event", "occurrence"), on_grid(result.event_times))
        data["event_states"] = ((*run_dims, "event", "occurrence", "state"), on_grid(result.event_states))


def _grid_reshaper(result):
    """A function splitting a run-major array's run axis into the grid's dims (identity for a flat batch).

    Splitting is a reshape (a view of a numpy array, lazy for a Dask one)
    because the runs are the grid in C order.
    """
    shape = result.grid.shape
    if not shape:
        return lambda values: values
    return lambda values: values.reshape(*shape, *values.shape[1:])


def _run_coordinates(result, inputs, run_dims) -> dict:
    """The ``run`` index and the inputs as coordinates, along ``run`` or the grid's dims."""
    grid = result.grid
    if not grid.axes:
        return {"run": np.arange(result.n_runs), **{name: ("run", values) for name, values in inputs}}
    coords = {"run": (run_dims, np.arange(result.n_runs).reshape(grid.shape))}
    by_name = dict(inputs)
    swept = set()
    for j, (axis, dim) in enumerate(zip(grid.axes, run_dims)):
        along = (0,) * j + (slice(None),) + (0,) * (len(run_dims) - j - 1)  # axis j, the others at row 0
        names = [_export_name(axis.kind, name) for name in axis.names]
        if len(names) > 1:
            coords[dim] = np.arange(axis.size)  # the row of the swept array
        coords.update((name, (dim, by_name[name].reshape(grid.shape)[along])) for name in names)
        swept.update(names)
    # An input no axis sweeps has one value for every run.
    coords.update((name, values[0]) for name, values in inputs if name not in swept)
    return coords


def to_pandas(result, final_only: bool = False) -> pandas.DataFrame:
    """The result as a tidy ``pandas.DataFrame``: one row per run and saved time.

    Parameters
    ----------
    result : SolveResult
    final_only : bool, default False
        Keep only the last saved time: one row per run, the same rows as
        the full frame's at ``time == result.t[-1]``.

    Returns
    -------
    pandas.DataFrame
        Rows ordered by run, then time, on a default ``RangeIndex``.
        Columns: ``run``, ``time``, one per state, one per saved
        observable, one per parameter, ``initial_<state>`` for every state,
        ``status``, ``status_name``, ``n_accepted``, ``n_rejected``,
        ``n_newton_iterations``, ``n_linear_iterations``,
        ``n_linear_solver_failures`` (the per-run
        columns repeat on every row of their run).

    Raises
    ------
    ImportError
        Without pandas (``pip install 'batchode[export]'``).
    ValueError
        When two columns would share a name (a state named ``time``...).
    """
    pd = _require("pandas", "SolveResult.to_pandas", "export")
    saves = slice(-1, None) if final_only else slice(None)
    times = result.t[saves]
    n_saves = len(times)
    columns = [("run", np.repeat(np.arange(result.n_runs), n_saves)), ("time", np.tile(times, result.n_runs))]
    # (run, time, variable) -> (run * time, variable): rows run-major, one column per variable.
    columns += zip(result.state_names, result.y[:, saves].reshape(-1, len(result.state_names)).T)
    if result.observables is not None:
        observables = result.observables[:, saves].reshape(-1, len(result.observable_names))
        columns += zip(result.observable_names, observables.T)
    per_run = [*_run_inputs(result), ("status", result.status), ("status_name", decode(result.status)),
               *((name, getattr(result, name)) for name in COUNTERS)]
    columns += [(name, np.repeat(values, n_saves)) for name, values in per_run]
    _check_distinct([name for name, _ in columns], "DataFrame")
    return pd.DataFrame(dict(columns))


def _variables(result, variables) -> list[tuple[str, np.ndarray]]:
    """The chosen states and observables as ``(name, values (runs, saves))``."""
    available = {name: result.y[:, :, j] for j, name in enumerate(result.state_names)}
    if result.observables is not None:
        available.update((name, result.observables[:, :, j]) for j, name in enumerate(result.observable_names))
    if variables is None:
        variables = result.state_names
    elif isinstance(variables, str):
        variables = [variables]
    unknown = [name for name in variables if name not in available]
    if unknown:
        raise ValueError(f"unknown variables {unknown}; the saved states and observables are {list(available)}")
    return [(name, available[name]) for name in variables]


def _swept_parameters(result) -> list[str]:
    """Parameters that differ between runs, in the system's order."""
    return [name for name, values in result.parameters.items() if np.any(values != values[0])]


def plot(result, variables=None, runs=None, ax=None):
    """Quick look at a result with matplotlib.

    With several saved times: the time series of each chosen variable for
    a few runs, with a legend (on the first Axes) naming each run and its
    swept parameter values. With only the final state saved: the final
    value of each variable against the first swept parameter (or the run
    index when no parameter is swept); failed runs (NaN) are left out.

    Parameters
    ----------
    result : SolveResult
    variables : str or sequence of str, optional
        State and observable names; default: every state.
    runs : int or sequence of int, optional
        Run indices; default: up to 5 runs spread over the batch
        (:func:`spread_runs`) for time series, every run for final values.
    ax : matplotlib Axes or sequence of Axes, optional
        One Axes for everything, or one per variable; default: a new
        figure with one Axes per variable, stacked.

    Returns
    -------
    matplotlib.axes.Axes or ndarray of Axes
        ``ax`` when given; else the new Axes, a single one for a single
        variable (as ``plt.subplots`` squeezes).

    Raises
    ------
    ImportError
        Without matplotlib (``pip install 'batchode[plot]'``).
    ValueError
        For unknown variable names, or an ``ax`` sequence whose length is
        neither 1 nor the number of variables.
    """
    _require("matplotlib", "SolveResult.plot", "plot")
    series = _variables(result, variables)
    final_only = len(result.t) == 1
    if runs is None:
        runs = np.arange(result.n_runs) if final_only else spread_runs(result, DEFAULT_PLOT_RUNS)
    runs = np.atleast_1d(np.asarray(runs, dtype=int))
    targets, returned = _target_axes(ax, len(series))
    names_on: dict[int, list[str]] = {}
    for (name, _), target in zip(series, targets):
        names_on.setdefault(id(target), []).append(name)
    if final_only:
        swept = _swept_parameters(result)
        x, x_label = (result.parameters[swept[0]][runs], swept[0]) if swept else (runs, "run")
        for (name, values), target in zip(series, targets):
            target.plot(x, values[runs, 0], linestyle="none", marker=".", label=name)
    else:
        x_label = "time"
        labels = _run_labels(result, runs)
        for (name, values), target in zip(series, targets):
            # Several variables on one Axes: name the variable in each label too.
            prefix = f"{name}, " if len(names_on[id(target)]) > 1 else ""
            for run, label in zip(runs, labels):
                target.plot(result.t, values[run], label=prefix + label)
    for target in {id(target): target for target in targets}.values():
        target.set_xlabel(x_label)
        target.set_ylabel(", ".join(names_on[id(target)]))
        if ax is None:
            target.label_outer()  # one time axis label under the stacked Axes
    # Every Axes shows the same runs in the same colours, so one legend says it all.
    if not final_only or len(names_on[id(targets[0])]) > 1:
        targets[0].legend(fontsize="small")
    return returned


def spread_runs(result, count: int) -> np.ndarray:
    """Up to ``count`` distinct runs spread over the batch, in run order.

    On a flat batch: evenly spaced run indices. On a combinatorial grid:
    evenly spaced points on the grid's diagonal, each axis's index running
    from its first to its last row, so the runs differ from one another in
    every swept input that has at least ``count`` values (evenly spaced run
    indices would not: on a 200 x 200 grid, runs 0, n/4, n/2, 3n/4 and n-1
    share the last value of the second input three times).

    Parameters
    ----------
    result : SolveResult
    count : int
        Most runs to choose (at least 1).

    Returns
    -------
    ndarray of int
        Increasing run indices.
    """
    shape = result.grid.shape or (result.n_runs,)
    indices = [np.linspace(0, size - 1, count).round().astype(int) for size in shape]
    return np.unique(np.ravel_multi_index(indices, shape))


def _target_axes(ax, n_variables: int) -> tuple[list, object]:
    """The Axes to draw each variable on, and what ``plot`` returns."""
    if ax is None:
        pyplot = importlib.import_module("matplotlib.pyplot")
        _, created = pyplot.subplots(n_variables, 1, sharex=True, squeeze=False, layout="constrained",
                                     figsize=(7, 1 + 2 * n_variables))
        targets = list(created[:, 0])
        return targets, targets[0] if n_variables == 1 else created[:, 0]
    targets = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(targets) == 1:
        return targets * n_variables, ax
    if len(targets) != n_variables:
        raise ValueError(f"ax holds {len(targets)} Axes for {n_variables} variables; give one, or one per variable")
    return targets, ax


def _run_labels(result, runs: np.ndarray) -> list[str]:
    """Legend labels: ``"run 3: rho=10.5"``, with every swept parameter."""
    swept = _swept_parameters(result)
    labels = []
    for run in runs:
        values = ", ".join(f"{name}={result.parameters[name][run]:.4g}" for name in swept)
        labels.append(f"run {run}: {values}" if values else f"run {run}")
    return labels


__all__ = ["INITIAL_PREFIX", "ROW_DIMS", "plot", "spread_runs", "to_pandas", "to_xarray"]
