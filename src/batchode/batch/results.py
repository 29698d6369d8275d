"""``SolveResult``: what a batch solve returns."""

from __future__ import annotations

import attrs
import numpy as np

from batchode.status import decode


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

    def __repr__(self) -> str:
        return (
            f"SolveResult({self.n_runs} runs x {len(self.t)} saves x {len(self.state_names)} states, "
            f"method={self.method!r}, backend={self.backend!r}, {int(self.success.sum())} succeeded, "
            f"{self.wall_time:.3g} s)"
        )
