"""``SolveResult``: what a batch solve returns."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

from batchode.batch import export
from batchode.batch.grid import RunGrid
from batchode.status import FINISHED, decode

if TYPE_CHECKING:
    import pandas
    import xarray


@attrs.frozen(repr=False)
class SolveResult:
    """Results of a batch of runs.

    Attributes
    ----------
    t : ndarray (n_saves,)
        Saved times (by default every ``save_every`` from the start and the
        end of the time span; or the ``t_eval`` given).
    y : ndarray (n_runs, n_saves, n_states)
        Saved states; NaN after the point where a run failed.
    observables : ndarray (n_runs, n_saves, n_observables) or None
        Saved observables, when requested.
    status : ndarray (n_runs,) of int
        0 for success, else :class:`batchode.status.Status` flags.
    t_final : ndarray (n_runs,) of float64
        The time each run reached: the end of the time span for a
        successful run, else where it stopped.
    y_final : ndarray (n_runs, n_states)
        Each run's state at ``t_final``: for a failed run its last accepted
        (finite) state, which shows how far it got.
    n_accepted, n_rejected : ndarray (n_runs,) of int
        Step counts per run.
    n_newton_iterations, n_linear_iterations : ndarray (n_runs,) of int
        Work of implicit methods per run (0 for explicit ones).
    n_linear_solver_failures : ndarray (n_runs,) of int
        Step attempts of each run rejected because their linear solve
        failed (a Krylov method that did not reach its tolerance, a zero
        pivot); each one shrank the step fourfold. Several in a row end the
        run with ``LINEAR_SOLVER_FAILED``.
    initial_state : ndarray (n_runs, n_states)
    parameters : dict of name -> ndarray (n_runs,)
        The per-run parameter values.
    state_names, observable_names : tuple of str
    method, backend, precision : str
    wall_time : float
        Seconds spent in the solve (inputs, kernel and outputs), compiling
        excluded.
    summaries : dict of name -> ndarray
        One array per selected metric, (n_runs, n_windows, n_variables), or
        (n_runs, n_windows, n_variables, n_components) for metrics with
        several values (``extrema``: min, max; ``peaks``: count, t_1...).
        NaN for the windows a failed run did not finish.
    summary_times : ndarray (n_windows,)
        The end time of every summary window.
    summary_variables : tuple of str
        The summarised states and observables, in the variables axis order.
    summary_components : dict of name -> tuple of str
        Component names of every metric (a 1-tuple of its own name for
        single-valued metrics).
    output_path : str or None
        The Zarr store the results were written to, if any; ``y`` and
        ``observables`` are then Zarr arrays read on demand.
    chunks_computed : int or None
        Chunks of runs the solve that made this result computed (fewer than
        all when it resumed a store; None when read back from disk).
    compile_time : float
        Seconds the solve spent getting its kernel: compiling it, loading it
        from the disk cache, or nothing when this process already had it.
    grid : RunGrid
        The combinatorial grid the runs form (one axis per swept input, the
        first varying slowest), or no axes for a flat list of runs
        (``grid="verbatim"``).
    event_names : tuple of str
        The events detected (``Solver(events=...)``), in the order of the
        event axis; empty without events.
    event_counts : ndarray (n_runs, n_events) of int32, or None
        Occurrences of each event per run (all of them, recorded or not).
    event_times : ndarray (n_runs, n_events, records) of float64, or None
        Times of the recorded occurrences, in order; NaN after the last.
    event_states : ndarray (n_runs, n_events, records, n_states), or None
        States at those times; NaN after the last.
    """

    t: np.ndarray
    y: np.ndarray
    observables: np.ndarray | None
    status: np.ndarray
    t_final: np.ndarray
    y_final: np.ndarray
    n_accepted: np.ndarray
    n_rejected: np.ndarray
    n_newton_iterations: np.ndarray
    n_linear_iterations: np.ndarray
    n_linear_solver_failures: np.ndarray
    initial_state: np.ndarray
    parameters: dict
    state_names: tuple
    observable_names: tuple
    method: str
    backend: str
    precision: str
    wall_time: float
    summaries: dict = attrs.Factory(dict)
    summary_times: np.ndarray = attrs.Factory(lambda: np.empty(0))
    summary_variables: tuple = ()
    summary_components: dict = attrs.Factory(dict)
    output_path: str | None = None
    chunks_computed: int | None = None
    compile_time: float = 0.0
    grid: RunGrid = attrs.field(factory=RunGrid)
    event_names: tuple = ()
    event_counts: np.ndarray | None = None
    event_times: np.ndarray | None = None
    event_states: np.ndarray | None = None

    @grid.validator
    def _check_grid(self, attribute, grid):
        if grid.axes and math.prod(grid.shape) != len(self.status):
            raise ValueError(f"a grid of shape {grid.shape} holds {math.prod(grid.shape)} runs, but the result "
                             f"has {len(self.status)}; expected one run per grid point")

    @property
    def final_state(self) -> np.ndarray:
        """State where each run finished, (n_runs, n_states): at the end of the span, or at its terminal event.

        NaN for runs that failed; see :attr:`y_final` for where they got to.
        """
        return np.where(self.success[:, None], self.y_final, np.nan).astype(self.y_final.dtype)

    @property
    def n_runs(self) -> int:
        return self.y.shape[0]

    @property
    def success(self) -> np.ndarray:
        """Boolean mask of the runs that finished: reached the end, or stopped at a terminal event."""
        return np.isin(self.status, FINISHED)

    def status_names(self) -> np.ndarray:
        """Readable status of every run (``"SUCCESS"``, ``"DT_BELOW_MIN|NONFINITE"``...)."""
        return decode(self.status)

    def to_xarray(self) -> xarray.Dataset:
        """An ``xarray.Dataset`` with dims ``run``, ``time``, ``state`` (and ``observable``).

        Parameters and initial values (``initial_<state>``) are coordinates
        along ``run``. On a combinatorial grid the ``run`` dim is replaced
        by one dim per swept input (``ds.y.sel(k=0.5, a=1.0)``). See
        :func:`batchode.batch.export.to_xarray`. Needs the ``export`` extra.
        """
        return export.to_xarray(self)

    def to_pandas(self, final_only: bool = False) -> pandas.DataFrame:
        """A tidy ``pandas.DataFrame``, one row per run and saved time (per run with ``final_only``).

        Columns: run, time, states, observables, parameters,
        ``initial_<state>``, status, status_name and the step and
        iteration counters; see :func:`batchode.batch.export.to_pandas`. Needs the ``export``
        extra.
        """
        return export.to_pandas(self, final_only=final_only)

    def plot(self, variables=None, runs=None, ax=None):
        """Quick look with matplotlib: time series of a few runs, or final values against a swept parameter.

        Default: every state, up to 5 runs spread over the batch (on a
        combinatorial grid, differing in every swept input); returns the
        Axes. See :func:`batchode.batch.export.plot`. Needs the ``plot``
        extra.
        """
        return export.plot(self, variables=variables, runs=runs, ax=ax)

    def __repr__(self) -> str:
        return (
            f"SolveResult({self.n_runs} runs x {len(self.t)} saves x {len(self.state_names)} states, "
            f"method={self.method!r}, backend={self.backend!r}, {int(self.success.sum())} succeeded, "
            f"{self.wall_time:.3g} s, compile {self.compile_time:.3g} s)"
        )


class SolveInterrupted(KeyboardInterrupt):
    """Ctrl-C during a solve; what was finished is kept.

    Attributes
    ----------
    result : SolveResult or None
        Without ``output=``: every run, those finished with their results
        and the others with status ``NOT_RUN`` and NaN outputs. With
        ``output=``: None, since the finished chunks are in the store and
        the same solve resumes them.
    """

    def __init__(self, message: str, result: "SolveResult | None" = None):
        super().__init__(message)
        self.result = result


def split_summaries(raw: np.ndarray, layout, n_variables: int) -> dict:
    """Per-metric arrays from the kernel's summary rows ``(runs, windows, width)``.

    ``layout`` is ``SummaryOutputs.layout``: ``(metric, components, offset)``
    per metric; each metric's block is variable-major.
    """
    runs, windows = raw.shape[:2]
    split = {}
    for name, components, offset in layout:
        block = raw[:, :, offset:offset + len(components) * n_variables]
        block = block.reshape(runs, windows, n_variables, len(components))
        split[name] = np.ascontiguousarray(block[..., 0] if len(components) == 1 else block)
    return split


def make_result(metadata: dict, fields: dict, *, t, initial_state, parameters, wall_time: float,
                output_path=None) -> SolveResult:
    """A :class:`SolveResult` from a batch's metadata, its result fields and its inputs.

    Parameters
    ----------
    metadata : dict
        What a result store keeps in its attributes: the names of states,
        observables, parameters and events, the method, backend and
        precision, the summary layout and times, the grid (JSON).
    fields : dict
        The batch's result fields by name, run-major
        (:meth:`batchode.batch.body.KernelSchema.field_values`); the raw
        summary rows under ``summaries`` are split per metric here.
    t, initial_state, parameters : ndarray
        The saved times, and the runs' inputs, (runs, n) and (runs, n_p).
    wall_time : float
    output_path : str, optional
        The store the fields are read from.
    """
    fields = dict(fields)
    raw_summaries = fields.pop("summaries", None)
    variables = tuple(metadata["summary_variables"]) if raw_summaries is not None else ()
    layout = [(name, tuple(components), offset) for name, components, offset in metadata["summary_layout"]]
    return SolveResult(
        t=t, observables=fields.pop("observables", None), initial_state=initial_state,
        parameters={name: parameters[:, j] for j, name in enumerate(metadata["parameter_names"])},
        state_names=tuple(metadata["state_names"]), observable_names=tuple(metadata["observable_names"]),
        method=metadata["method"], backend=metadata["backend"], precision=metadata["precision"],
        wall_time=wall_time, output_path=output_path,
        summaries=split_summaries(np.asarray(raw_summaries), layout, len(variables)) if variables else {},
        summary_times=np.asarray(metadata["summary_times"]), summary_variables=variables,
        summary_components={name: components for name, components, _ in layout},
        # Stores written before grids and events were kept have neither: their runs read back flat.
        grid=RunGrid.from_json(metadata.get("grid", [])), event_names=tuple(metadata.get("event_names", ())),
        **fields,
    )
