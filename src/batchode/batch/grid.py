"""Per-run inputs: initial states and parameters from dicts or arrays, on a grid.

``grid="verbatim"``: entry i of every swept input forms run i (all swept
inputs need the same length; single values are broadcast).
``grid="combinatorial"``: every combination of the swept inputs, the first
input varying slowest (the runs are the grid in C order); the result keeps
the grid's shape as a :class:`RunGrid`.

An input is a dict by name, an array by position, a pandas Series by index
label (like a dict), or a pandas DataFrame by column name (its rows are
runs, one sweep axis like a 2-D array).
"""

from __future__ import annotations

import difflib
import math
import numbers

import attrs
import numpy as np

GRIDS = ("verbatim", "combinatorial")
#: The kinds of swept input: initial values of states, and parameters.
KINDS = ("state", "parameter")


@attrs.frozen
class GridAxis:
    """One swept input of a combinatorial grid.

    Attributes
    ----------
    kind : {"state", "parameter"}
        Whether the input sets initial values or parameters.
    names : tuple of str
        The states or parameters it sets, in column order: one for a dict
        entry, several for the rows of a 2-D array or a DataFrame.
    size : int
        Values (rows) along the axis, at least 2.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    names: tuple[str, ...] = attrs.field(converter=tuple)
    size: int = attrs.field(converter=int)


@attrs.frozen
class RunGrid:
    """How a batch's runs are laid out: a flat list, or every combination of ``axes``.

    On a combinatorial grid, run ``i`` takes row ``np.unravel_index(i,
    grid.shape)[j]`` of axis ``j``'s input: the runs are the grid in C
    order, the first axis varying slowest, so any run-major array reshapes
    to ``(*grid.shape, ...)`` without copying. No axes: a flat list of runs
    (a verbatim grid, or a single run).
    """

    axes: tuple[GridAxis, ...] = attrs.field(default=(), converter=tuple)

    @property
    def shape(self) -> tuple[int, ...]:
        """Values along each axis; ``()`` for a flat list."""
        return tuple(axis.size for axis in self.axes)

    def to_json(self) -> list:
        """The grid as JSON-compatible lists (for a result store's attributes)."""
        return [[axis.kind, list(axis.names), axis.size] for axis in self.axes]

    @classmethod
    def from_json(cls, data) -> "RunGrid":
        """The grid :meth:`to_json` wrote."""
        return cls(tuple(GridAxis(kind, names, size) for kind, names, size in data))


def _close(name, names) -> str:
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(names), n=2)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def _is_pandas(values, name: str) -> bool:
    """Whether ``values`` is a pandas ``name`` (DataFrame, Series), without importing pandas."""
    return any(cls.__module__.startswith("pandas") and cls.__name__ == name for cls in type(values).__mro__)


def _frame_axis(kind: str, frame, names: tuple[str, ...]) -> tuple[tuple[int, ...], np.ndarray]:
    """The columns (by name) and rows of a DataFrame of ``kind`` values."""
    columns = list(frame.columns)
    for label in columns:
        if label not in names:
            hint = _close(label, names) or (
                "; a DataFrame's columns are matched by name (pass frame.to_numpy() to match by position)")
            raise ValueError(f"DataFrame column {label!r} is not a {kind} name; the system's {kind}s are "
                             f"{list(names)}{hint}")
    if len(set(columns)) != len(columns):
        twice = sorted({label for label in columns if columns.count(label) > 1})
        raise ValueError(f"DataFrame columns {twice} appear more than once; expected one column per {kind}")
    try:
        rows = frame.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{kind}s: the DataFrame's columns must hold numbers ({error})") from None
    return tuple(names.index(label) for label in columns), rows


def _numbers(values, what: str, expected: str) -> np.ndarray:
    """``values`` as a float64 array, or an error saying what was expected."""
    if isinstance(values, str | bytes):
        raise ValueError(f"{what}: expected {expected}, got {values!r}")
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what}: expected {expected}, got {values!r} ({error})") from None


def _axes(kind: str, values, names: tuple[str, ...], defaults: np.ndarray) -> tuple[list, np.ndarray, set]:
    """Split one input into sweep axes.

    Returns ``(axes, base, given)``: ``axes`` is a list of ``(columns,
    rows)`` with ``rows`` of shape (length, len(columns)); ``base`` is the
    single-run row of defaults overridden by every non-swept value;
    ``given`` holds the columns the input supplied.
    """
    base = defaults.astype(np.float64).copy()
    axes = []
    if values is None:
        return axes, base, set()
    if _is_pandas(values, "Series"):  # one value per name, e.g. a DataFrame's row
        values = dict(values.items())
    if _is_pandas(values, "DataFrame"):
        columns, rows = _frame_axis(kind, values, names)
        if len(rows) == 1:
            base[list(columns)] = rows[0]
        else:
            axes.append((columns, rows))
        return axes, base, set(columns)
    if isinstance(values, dict):
        for name, value in values.items():
            if name not in names:
                raise ValueError(f"unknown {kind} {name!r}; the system's {kind}s are {list(names)}{_close(name, names)}")
            array = _numbers(value, f"{kind} {name!r}", "a number or a 1-D array of numbers")
            if array.ndim > 1:
                raise ValueError(f"{kind} {name!r}: expected a scalar or a 1-D array, got shape {array.shape}")
            column = names.index(name)
            if array.ndim == 0 or array.size == 1:
                base[column] = array.reshape(-1)[0]
            else:
                axes.append(((column,), array.reshape(-1, 1)))
        return axes, base, {names.index(name) for name in values}
    width = len(names)
    array = _numbers(values, f"{kind}s", f"a dict by name, a 1-D array of {width} numbers or a 2-D array "
                                          f"(runs, {width})")
    if array.ndim == 1 and array.size == width:
        base[:] = array
    elif array.ndim == 2 and array.shape[1] == width:
        if array.shape[0] == 1:
            base[:] = array[0]
        else:
            axes.append((tuple(range(width)), array))
    else:
        raise ValueError(
            f"{kind}s: expected a dict by name, a 1-D array of {width} values or a 2-D array "
            f"(runs, {width}); got shape {array.shape}"
        )
    return axes, base, set(range(width))


def build_runs(system, y0, parameters, grid: str = "verbatim") -> tuple[np.ndarray, np.ndarray, RunGrid]:
    """Initial states ``(runs, n_states)``, parameters ``(runs, n_parameters)`` and their grid.

    Parameters
    ----------
    system : ODESystem
    y0, parameters : dict, array, pandas Series or DataFrame, or None
        See the module docstring; None takes the system's defaults.
    grid : {"verbatim", "combinatorial"}
        ``"verbatim"``: run i takes entry i of every swept input.
        ``"combinatorial"``: one run per combination of the swept inputs,
        ordered with the swept initial states first, then the swept
        parameters, each in the order given, the first varying slowest:
        ``y0=None, parameters={"k": [1, 2], "a": [5, 6, 7]}`` gives the
        runs (k, a) = (1, 5), (1, 6), (1, 7), (2, 5), (2, 6), (2, 7).

    Returns
    -------
    initial_state : ndarray (runs, n_states)
    parameters : ndarray (runs, n_parameters)
    grid : RunGrid
        One axis per swept input on a combinatorial grid, in run order;
        none on a verbatim grid.

    Raises
    ------
    ValueError
        For unknown names, bad shapes, an empty sweep (no runs), mismatched
        lengths (verbatim), values missing a default, and non-finite values
        (naming the value and the run).
    """
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; expected one of {GRIDS}")
    state_axes, state_base, states_given = _axes("state", y0, system.state_names, system.default_initial_state)
    parameter_axes, parameter_base, parameters_given = _axes(
        "parameter", parameters, system.parameter_names, system.default_parameters
    )
    bases = (state_base, parameter_base)
    axes = [(0, columns, rows) for columns, rows in state_axes] + [(1, c, r) for c, r in parameter_axes]
    for which, columns, rows in axes:
        if len(rows) == 0:
            kind = "initial state" if which == 0 else "parameter"
            raise ValueError(f"{kind} {_describe(system, which, columns)!r}: an empty sweep gives no runs; "
                             "expected at least one value")
    run_grid = RunGrid()
    if grid == "verbatim":
        lengths = {len(rows) for _, _, rows in axes}
        if len(lengths) > 1:
            detail = ", ".join(
                f"{_describe(system, which, columns)}: {len(rows)}" for which, columns, rows in axes
            )
            raise ValueError(f"verbatim grid needs swept inputs of one length, got {detail}; "
                             "use grid='combinatorial' for every combination")
        n_runs = lengths.pop() if lengths else 1
        index_sets = [np.arange(n_runs)] * len(axes)
    else:
        n_runs = int(np.prod([len(rows) for _, _, rows in axes])) if axes else 1
        grids = np.meshgrid(*[np.arange(len(rows)) for _, _, rows in axes], indexing="ij") if axes else []
        index_sets = [g.reshape(-1) for g in grids]
        run_grid = RunGrid(GridAxis(KINDS[which], _names(system, which, columns), len(rows))
                           for which, columns, rows in axes)
    outputs = [np.tile(base, (n_runs, 1)) for base in bases]
    for (which, columns, rows), indices in zip(axes, index_sets):
        outputs[which][:, list(columns)] = rows[indices]
    for array, names, kind, given in ((outputs[0], system.state_names, "initial state", states_given),
                                      (outputs[1], system.parameter_names, "parameter", parameters_given)):
        bad = ~np.isfinite(array)
        if bad.any():
            run, column = np.argwhere(bad)[0]
            if column not in given:  # NaN: the system's mark for "no default"
                raise ValueError(f"{kind} {names[column]!r} has no default; supply it (e.g. "
                                 f"{'y0' if kind == 'initial state' else 'parameters'}={{{names[column]!r}: ...}})")
            runs = np.flatnonzero(bad[:, column])
            more = f" and {len(runs) - 1} more run(s)" if len(runs) > 1 else ""
            raise ValueError(f"{kind} {names[column]!r} is {array[run, column]} in run {run}{more}; "
                             "expected a finite number")
    return outputs[0], outputs[1], run_grid


def _names(system, which: int, columns) -> tuple[str, ...]:
    """Names of the states (``which`` 0) or parameters (1) in ``columns``."""
    names = system.state_names if which == 0 else system.parameter_names
    return tuple(names[c] for c in columns)


def _describe(system, which: int, columns) -> str:
    return "/".join(_names(system, which, columns)) if len(columns) <= 3 else f"{len(columns)}-column array"


def _time_within(name: str, value, t0: float, t1: float) -> float:
    """``value`` as a float inside the span from ``t0`` to ``t1`` (either order), or a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not min(t0, t1) <= value <= max(t0, t1):
        raise ValueError(f"{name}={value!r} is outside t_span=({t0!r}, {t1!r}); expected a time within it")
    return float(value)


def _evenly_spaced(start: float, t1: float, save_every) -> np.ndarray:
    """Every ``save_every`` from ``start`` towards ``t1``, and ``t1``."""
    if not (isinstance(save_every, numbers.Real) and not isinstance(save_every, bool) and np.isfinite(save_every)
            and save_every > 0):
        raise ValueError(f"save_every must be a positive number (a time interval, whatever the direction), "
                         f"got {save_every!r}")
    direction = 1.0 if t1 >= start else -1.0
    count = int(np.floor(abs(t1 - start) / save_every * (1 + 1e-12)))
    times = start + direction * save_every * np.arange(count + 1)
    if abs(t1 - times[-1]) > 1e-12 * max(abs(t1), 1.0):
        times = np.append(times, t1)
    else:
        times[-1] = t1
    return times


def _listed_times(t_eval, t0: float, t1: float) -> np.ndarray:
    """``t_eval`` checked: finite, strictly ordered from ``t0`` towards ``t1``, within the span."""
    if isinstance(t_eval, str | bytes):
        raise ValueError(f"t_eval must be a 1-D sequence of times, got {t_eval!r}")
    try:
        times = np.array(t_eval, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"t_eval must be a 1-D sequence of times, got {t_eval!r} ({error})") from None
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"t_eval must be a non-empty 1-D sequence of times, got shape {times.shape}")
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise ValueError(f"t_eval[{bad[0]}] is {times[bad[0]]}; expected finite times")
    outside = np.flatnonzero((times < min(t0, t1)) | (times > max(t0, t1)))
    if outside.size:
        raise ValueError(f"t_eval[{outside[0]}]={float(times[outside[0]])!r} is outside t_span=({t0!r}, {t1!r}); "
                         "expected every time within it")
    steps = np.diff(times) * (1.0 if t1 >= t0 else -1.0)
    wrong = np.flatnonzero(steps <= 0)
    if wrong.size:
        order = "increasing" if t1 >= t0 else "decreasing (t_span runs backwards)"
        raise ValueError(f"t_eval must be strictly {order}: t_eval[{wrong[0]}]={float(times[wrong[0]])!r} is followed "
                         f"by t_eval[{wrong[0] + 1}]={float(times[wrong[0] + 1])!r}")
    return times


def save_times(t0: float, t1: float, save_every=None, t_eval=None, save_from=None) -> np.ndarray:
    """Times at which the state is saved, running from ``t0`` towards ``t1``.

    Parameters
    ----------
    t0, t1 : float
        The time span; ``t1 < t0`` integrates backwards.
    save_every : float, optional
        A positive interval: saves every ``save_every`` from ``save_from``
        (default ``t0``) towards ``t1``, and at ``t1``.
    t_eval : sequence of float, optional
        The save times themselves (instead of ``save_every``): strictly
        increasing (decreasing when integrating backwards), within the span.
    save_from : float, optional
        With ``save_every``: the first save time (a transient before it is
        neither saved nor summarised).

    Returns
    -------
    ndarray (saves,) of float64
        Without ``save_every`` or ``t_eval``: ``[t1]``, the final state only.

    Raises
    ------
    ValueError
        For both ``save_every`` and ``t_eval``, ``save_from`` without
        ``save_every``, or a time outside the span, unordered or not finite.
    """
    if t_eval is not None:
        if save_every is not None:
            raise ValueError("pass either save_every or t_eval, not both")
        if save_from is not None:
            raise ValueError("save_from applies to save_every; with t_eval, list only the times to save")
        return _listed_times(t_eval, t0, t1)
    if save_from is not None:
        if save_every is None:
            raise ValueError("save_from needs save_every (without it only the final state is saved)")
        return _evenly_spaced(_time_within("save_from", save_from, t0, t1), t1, save_every)
    if save_every is None:
        return np.array([t1])
    return _evenly_spaced(t0, t1, save_every)


def samples_per_window(summarise_every, save_every, n_saves: int) -> int:
    """Save times per summary window; ``n_saves`` (one window) when ``summarise_every`` is None."""
    if summarise_every is None:
        return n_saves
    if not (isinstance(summarise_every, (int, float)) and math.isfinite(summarise_every) and summarise_every > 0):
        raise ValueError(f"summarise_every must be a positive number, got {summarise_every!r}")
    ratio = summarise_every / save_every
    count = round(ratio)
    if count < 1 or abs(ratio - count) > 1e-9 * ratio:
        raise ValueError(f"summarise_every={summarise_every} must be a whole multiple of save_every={save_every}")
    return count


__all__ = ["GRIDS", "KINDS", "GridAxis", "RunGrid", "build_runs", "samples_per_window", "save_times"]
