"""``SolveResult``: what a batch solve returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

from batchode.batch import export
from batchode.status import decode

if TYPE_CHECKING:
    import pandas
    import xarray


@attrs.frozen(repr=False)
class SolveResult:
    """Results of a batch of runs.

    Attributes
    ----------
    t : ndarray (n_saves,)
        Saved times (the last is the end of the time span).
    y : ndarray (n_runs, n_saves, n_states)
        Saved states; NaN after the point where a run failed.
    observables : ndarray (n_runs, n_saves, n_observables) or None
        Saved observables, when requested.
    status : ndarray (n_runs,) of int
        0 for success, else :class:`batchode.status.Status` flags.
    n_accepted, n_rejected : ndarray (n_runs,) of int
        Step counts per run.
    n_newton_iterations, n_linear_iterations : ndarray (n_runs,) of int
        Work of implicit methods per run (0 for explicit ones).
    initial_state : ndarray (n_runs, n_states)
    parameters : dict of name -> ndarray (n_runs,)
        The per-run parameter values.
    state_names, observable_names : tuple of str
    method, backend, precision : str
    wall_time : float
        Seconds spent in the solve (inputs, kernel and outputs).
    """

    t: np.ndarray
    y: np.ndarray
    observables: np.ndarray | None
    status: np.ndarray
    n_accepted: np.ndarray
    n_rejected: np.ndarray
    n_newton_iterations: np.ndarray
    n_linear_iterations: np.ndarray
    initial_state: np.ndarray
    parameters: dict
    state_names: tuple
    observable_names: tuple
    method: str
    backend: str
    precision: str
    wall_time: float

    @property
    def final_state(self) -> np.ndarray:
        """State at the end of the time span, (n_runs, n_states)."""
        return self.y[:, -1, :]

    @property
    def n_runs(self) -> int:
        return self.y.shape[0]

    @property
    def success(self) -> np.ndarray:
        """Boolean mask of the runs that reached the end."""
        return self.status == 0

    def status_names(self) -> np.ndarray:
        """Readable status of every run (``"SUCCESS"``, ``"DT_BELOW_MIN|NONFINITE"``...)."""
        return decode(self.status)

    def to_xarray(self) -> xarray.Dataset:
        """An ``xarray.Dataset`` with dims ``run``, ``time``, ``state`` (and ``observable``).

        Parameters and initial values (``initial_<state>``) are coordinates
        along ``run``; see :func:`batchode.batch.export.to_xarray`. Needs
        the ``export`` extra.
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

        Default: every state, up to 5 evenly spaced runs; returns the
        Axes. See :func:`batchode.batch.export.plot`. Needs the ``plot``
        extra.
        """
        return export.plot(self, variables=variables, runs=runs, ax=ax)

    def __repr__(self) -> str:
        return (
            f"SolveResult({self.n_runs} runs x {len(self.t)} saves x {len(self.state_names)} states, "
            f"method={self.method!r}, backend={self.backend!r}, {int(self.success.sum())} succeeded, "
            f"{self.wall_time:.3g} s)"
        )
