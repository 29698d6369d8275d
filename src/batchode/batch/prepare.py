"""A batch's inputs checked and laid out: runs on their grid, save times, summary windows, array sizes.

Nothing here compiles or launches: preparing a batch is how bad inputs are
refused before any work starts, and how the sizes of a batch are known
before its memory is planned.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from batchode.batch.chunking import BatchShape
from batchode.batch.grid import RunGrid, build_runs, samples_per_window, save_times


@attrs.frozen
class PreparedBatch:
    """A validated batch: inputs on the grid, save times, summary windows, array sizes.

    Attributes
    ----------
    t0, t1 : float
        Start and end of the span (``t1 < t0`` integrates backwards).
    dt : float
        The first step (0: automatic; adaptive control only).
    times : ndarray
        The save times (the samples of the summary metrics).
    per_window : int
        Samples per summary window.
    window_ends : ndarray
        The end time of every summary window.
    initial, parameters : ndarray
        Per-run initial states (runs, n) and parameters (runs, n_p).
    shape : BatchShape
    grid : RunGrid
    """

    t0: float
    t1: float
    dt: float
    times: np.ndarray
    per_window: int
    window_ends: np.ndarray
    initial: np.ndarray
    parameters: np.ndarray
    shape: BatchShape
    grid: RunGrid

    @property
    def saved_times(self) -> np.ndarray:
        """The times of the saved rows: every save time, or the last one without a time series."""
        return self.times[len(self.times) - self.shape.state_rows:]

    def runs(self, start: int, stop: int) -> "PreparedBatch":
        """The same batch restricted to runs ``start .. stop-1`` (a chunk sent to a worker)."""
        return attrs.evolve(self, initial=self.initial[start:stop], parameters=self.parameters[start:stop],
                            shape=attrs.evolve(self.shape, n_runs=stop - start))


def time_span(t_span) -> tuple[float, float]:
    """``t_span`` as two floats, or a ValueError saying what was expected."""
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"t_span must be two numbers (start, end), got {t_span!r}") from None
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 == t0:
        raise ValueError(f"t_span must be two different finite times (an end before the start integrates "
                         f"backwards), got {t_span!r}")
    return t0, t1


def _windows(summaries, times, save_every, summarise_every, t_eval) -> int:
    """Samples per summary window, after checking the summary arguments agree with the summaries asked for."""
    if summaries.is_active:
        if save_every is None and t_eval is None:
            raise ValueError("summary metrics are taken over the save times: pass save_every=... or "
                             "t_eval=... (and save_time_series=False to keep only the summaries)")
        return samples_per_window(summarise_every, save_every, len(times))
    if summarise_every is not None:
        raise ValueError("summarise_every needs summary metrics: pass summaries=['mean', ...]")
    return len(times)


def _check_fixed_steps(loop, dt: float, t0: float, t1: float, n_saves: int) -> None:
    """Refuse a fixed step that would need more steps than ``max_steps`` allows."""
    settings = loop.settings
    needed = math.ceil(abs(t1 - t0) / dt) + (n_saves if settings.step_to_saves else 1)
    if needed > settings.max_steps:
        raise ValueError(f"fixed dt={dt} needs about {needed} steps from t={t0} to t={t1}, more than "
                         f"max_steps={settings.max_steps}; raise max_steps or dt")


def prepare_batch(system, loop, dt, t_span, y0=None, parameters=None, save_every=None, grid="verbatim",
                  summarise_every=None, t_eval=None, save_from=None) -> PreparedBatch:
    """Check a batch's inputs and work out its shapes (the arguments of ``Solver.solve`` of the same names).

    Parameters
    ----------
    system : ODESystem
    loop : IntegrationLoop
        The loop that will run the batch (its summaries, events, step
        limits and what it saves).
    dt : float or None
        The solver's ``dt`` (None: automatic).

    Raises
    ------
    ValueError
        For bad inputs, naming the value and what was expected.
    """
    t0, t1 = time_span(t_span)
    initial, params, run_grid = build_runs(system, y0, parameters, grid)
    times = save_times(t0, t1, save_every, t_eval, save_from)
    summaries, events = loop.child("summaries"), loop.events
    per_window = _windows(summaries, times, save_every, summarise_every, t_eval)
    n_windows = max(math.ceil((len(times) - 1) / per_window), 1)
    window_ends = times[np.minimum(per_window * np.arange(1, n_windows + 1), len(times) - 1)]
    # dt = 0 asks the loop for its automatic first step (adaptive only).
    dt = 0.0 if dt is None else dt
    if not loop.is_adaptive:
        _check_fixed_steps(loop, dt, t0, t1, len(times))
    saves = loop.settings
    shape = BatchShape(
        n_runs=len(initial), n_states=system.n_states, n_parameters=system.n_parameters,
        state_rows=len(times) if saves.save_time_series else 1,
        n_observables=system.n_observables if saves.save_observables else 0,
        n_windows=n_windows if summaries.is_active else 1, summary_width=summaries.width,
        precision=loop.precision, n_events=len(events),
        event_records=max((event.max_records for event in events), default=1),
    )
    return PreparedBatch(t0, t1, dt, times, per_window, window_ends, initial, params, shape, run_grid)
