"""The per-trajectory integration loop.

Loop contract::

    status = loop(t0, t_end, dt0, y0, params, save_times, samples_per_window, state_out,
                  observables_out, summary_out, end_state, end_time, counters, settings,
                  shared, persistent)

1. Integrates one trajectory from ``t0`` and state ``y0`` with parameters
   ``params`` to ``t_end``, forwards or, when ``t_end < t0``, backwards,
   starting with a step of size ``dt0`` (the step itself for fixed-step
   control; a size, whatever the direction). For adaptive control
   ``dt0 <= 0`` asks for an automatic first step (Hairer, Norsett &
   Wanner, Solving ODEs I, section II.4: two evaluations of f).
2. ``save_times`` run from ``t0`` towards ``t_end`` (each within the span).
   At save time ``k`` the state goes to ``state_out[k]`` and, when enabled,
   the observables to ``observables_out[k]``. With an interpolant (the
   step's own, or child ``interpolant``; see
   :mod:`batchode.algorithms.interpolation`) the steps ignore
   the save times: a save inside a step is filled from the interpolant,
   so the steps taken and every accepted state are the same whatever is
   saved. Without one, steps are shortened to land exactly on every save
   time. Without a saved time series (``save_time_series=False``) those
   outputs have one row, the last save time's sample.
3. Every save time is also a sample of the summary metrics (child
   ``summaries``, when any are selected): sample ``k`` belongs to window
   ``(k - 1) // samples_per_window`` (sample 0 to window 0), and each
   window's row of ``summary_out`` is written when its last sample is taken.
4. On failure the unreached rows of the outputs (and the summary row of an
   unfinished window) are NaN and the returned status has its flags set
   (:class:`batchode.status.Status`). Whatever the outcome, ``end_time[0]``
   receives the time the run reached and ``end_state`` its last accepted
   state there (``t_end`` and the final state on success).
5. ``counters`` (int32, one entry per :class:`batchode.counters.Counter`)
   receives the accepted and rejected step counts and the Newton and
   linear-solver iterations (implicit methods).
6. A step whose own status is not 0 (Newton or the linear solver failed)
   is rejected and retried with a quarter of its size; its flags are
   reported only if the run ends because the step fell below ``dt_min``.
   A step whose proposal is not finite ends the run with ``NONFINITE``
   and is not taken.
7. Time is float64 whatever the working precision: ``t0``, ``t_end``,
   ``dt0``, ``save_times``, the current time and step, and
   ``dt_min``/``dt_max``. Each step is taken with the (signed) step size
   rounded to the working precision, but ``t`` accumulates in float64, so
   a float32 run far from ``t = 0`` still advances and lands on its save
   times. Step sizes handed to the controller are sizes (positive).
8. ``settings`` is the loop's block of the run-time values: ``dt_min``,
   ``dt_max`` and ``max_steps``, then the algorithm's and the controller's
   blocks (:meth:`batchode.factory.CUDAFactory.runtime_layout`).

The loop knows nothing of batches: the batch layer hands it one trajectory's
rows. It owns the step limits (``dt_min``, ``dt_max``, ``max_steps``); the
algorithm, the step controller, the summaries and the interpolant (when
saves are interpolated) are its children.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from batchode.algorithms.interpolation import nothing_to_prepare
from batchode.counters import Counter
from batchode.events import make_event_handler
from batchode.factory import CUDAFactory, runtime_setting
from batchode.outputs.summaries import SummaryOutputs
from batchode.status import Status


def _positive(instance, attribute, value):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive finite number, got {value!r}")


@attrs.frozen
class LoopSettings:
    """Step limits (run-time settings) and what to save (compile-time).

    Attributes
    ----------
    dt_min, dt_max : float
        An adaptive run whose step falls below ``dt_min`` stops with
        ``DT_BELOW_MIN``; no step exceeds ``dt_max``.
    max_steps : int
        Accepted plus rejected steps allowed per trajectory.
    save_observables : bool
        Whether observables are computed and written at save times.
    save_time_series : bool
        Whether every save time is written out; when False only the final
        sample is (save times still feed the summary metrics).
    step_to_saves : bool
        Shorten steps to land on every save time instead of interpolating
        the saves (the interpolant, if any, then serves only events).
    """

    dt_min: float = runtime_setting(default=1e-12, validator=_positive)
    dt_max: float = runtime_setting(default=math.inf)
    max_steps: int = runtime_setting(default=100_000, validator=attrs.validators.ge(1))
    save_observables: bool = False
    save_time_series: bool = True
    step_to_saves: bool = False

    @dt_max.validator
    def _dt_max(self, attribute, value):
        if not value > 0:
            raise ValueError(f"dt_max must be positive, got {value!r}")


class IntegrationLoop(CUDAFactory):
    """Factory of the loop; children ``algorithm``, ``controller``, ``summaries``
    and, when given, ``interpolant`` and ``events``.

    Buffers: ``state``, ``proposal``, ``parameters`` (LOCAL), ``error`` and
    ``start_derivative`` (LOCAL, only for adaptive control), ``sample``
    (LOCAL, only with an interpolant: an interpolated save),
    ``observables`` (LOCAL, only when observables are saved), and with
    events the event functions' values at the step's ends
    (``event_start``, ``event_end``) and at a root finder's trial point
    (``event_trial``), the crossings' step fractions (``event_fractions``,
    float64) and the trial state (``event_state``), all LOCAL.

    Parameters
    ----------
    algorithm, controller : CUDAFactory
        The step and the step controller.
    summaries : SummaryOutputs, optional
        The summary metrics (default: none).
    interpolant : CUDAFactory, optional
        Fills saves inside steps (:mod:`batchode.algorithms.interpolation`),
        for an algorithm that is not its own interpolant
        (``algorithm.interpolates``). Without either, steps are shortened
        to land on every save time.
    events : EventFunctions, optional
        The event functions (:mod:`batchode.events`); they need an
        interpolant (the algorithm's own or ``interpolant``).
    """

    Settings = LoopSettings

    def __init__(self, algorithm, controller: CUDAFactory,
                 summaries: SummaryOutputs | None = None, interpolant: CUDAFactory | None = None,
                 events: CUDAFactory | None = None, **kwargs):
        super().__init__(precision=algorithm.precision, backend=algorithm.backend.name, **kwargs)
        self.add_child("algorithm", algorithm)
        self.add_child("controller", controller)
        self.add_child("summaries", summaries or SummaryOutputs(algorithm.child("system")))
        if interpolant is not None:
            self.add_child("interpolant", interpolant)
        if events is not None:
            if not self.has_interpolant:
                raise ValueError("events are located on an interpolant: give the loop one (or a step that "
                                 "interpolates)")
            self.add_child("events", events)
        system = algorithm.child("system").system
        self.register_buffer("state", "local", system.n_states)
        self.register_buffer("proposal", "local", system.n_states)
        self.register_buffer("error", "local", system.n_states, enabled=lambda: self.is_adaptive)
        self.register_buffer("start_derivative", "local", system.n_states, enabled=lambda: self.is_adaptive)
        self.register_buffer("sample", "local", system.n_states, enabled=lambda: self.interpolates)
        n_events = len(events.events) if events is not None else 0
        for name in ("event_start", "event_end", "event_trial"):
            self.register_buffer(name, "local", n_events, enabled=n_events > 0)
        self.register_buffer("event_fractions", "local", n_events, precision=np.float64, enabled=n_events > 0)
        self.register_buffer("event_state", "local", system.n_states, enabled=n_events > 0)
        self.register_buffer("parameters", "local", system.n_parameters)
        self.register_buffer(
            "observables", "local", system.n_observables,
            enabled=lambda: self.settings.save_observables and system.n_observables > 0,
        )

    @property
    def is_adaptive(self) -> bool:
        return self.child("controller").is_adaptive

    @property
    def has_interpolant(self) -> bool:
        """True when the loop has an interpolant: child ``interpolant``, or the algorithm itself."""
        return "interpolant" in self.children or self.child("algorithm").interpolates

    @property
    def interpolates(self) -> bool:
        """True when saves inside a step are interpolated (else steps land on them)."""
        return self.has_interpolant and not self.settings.step_to_saves

    @property
    def events(self) -> tuple:
        """The events the loop detects (:class:`batchode.events.Event`), empty without any."""
        return self.child("events").events if "events" in self.children else ()

    @property
    def system(self):
        return self.child("algorithm").child("system").system

    def runtime_values(self) -> dict:
        s = self.settings
        return dict(dt_min=s.dt_min, dt_max=s.dt_max, max_steps=s.max_steps)

    def build(self):
        s = self.settings
        system = self.system
        n, n_parameters, n_observables = system.n_states, system.n_parameters, system.n_observables
        dtype = self.precision.type
        dt_min_at, dt_max_at = self.runtime_offset("dt_min"), self.runtime_offset("dt_max")
        max_steps_at = self.runtime_offset("max_steps")
        adaptive = self.is_adaptive
        save_observables = s.save_observables and n_observables > 0
        nan, zero = dtype(math.nan), dtype(0.0)
        failed_shrink = dtype(0.1)
        failed_step_shrink = dtype(0.25)
        ok, max_steps_flag = int(Status.SUCCESS), int(Status.MAX_STEPS)
        dt_flag, nonfinite_flag = int(Status.DT_BELOW_MIN), int(Status.NONFINITE)
        accepted_at, rejected_at = int(Counter.ACCEPTED), int(Counter.REJECTED)
        newton_at, linear_at = int(Counter.NEWTON_ITERATIONS), int(Counter.LINEAR_ITERATIONS)

        algorithm = self.child("algorithm")
        step = algorithm.device_function
        observables = algorithm.child("system").observables_function
        controller = self.child("controller").built
        control, initialise, norm = controller.device_function, controller.initialise, controller.norm
        registry = self.buffer_registry
        alloc = {name: buffer.allocate() for name, buffer in registry.buffers.items()}
        alloc_state, alloc_proposal, alloc_error = alloc["state"], alloc["proposal"], alloc["error"]
        alloc_parameters, alloc_observables = alloc["parameters"], alloc["observables"]
        alloc_start, alloc_sample = alloc["start_derivative"], alloc["sample"]
        dxdt = algorithm.child("system").device_function
        start_exponent = dtype(1.0 / (algorithm.order + 1))
        small, tiny, hundredth = dtype(1e-5), dtype(1e-15), dtype(0.01)
        fallback = dtype(1e-6)
        algorithm_view = registry.child_view("algorithm")
        controller_view = registry.child_view("controller")
        summaries_view = registry.child_view("summaries")
        algorithm_block = self.runtime_view("algorithm")
        controller_block = self.runtime_view("controller")
        summaries = self.child("summaries")
        summarising = summaries.is_active
        summary_width = summaries.width
        summary = summaries.built
        sample, finalise_window, initialise_summaries = summary.sample, summary.finalise, summary.initialise
        save_series = s.save_time_series
        interpolating = self.interpolates
        if "interpolant" in self.children:
            interpolant = self.child("interpolant").built
            prepare, evaluate = interpolant.prepare, interpolant.evaluate
            interpolant_view = registry.child_view("interpolant")
        elif self.has_interpolant:  # the step reads the stages it kept in its own memory
            interpolant = algorithm.built.interpolant
            prepare, evaluate, interpolant_view = interpolant.prepare, interpolant.evaluate, algorithm_view
        else:
            prepare, evaluate, interpolant_view = self._without_interpolant()
        events = self.events
        detecting = bool(events)
        if detecting:
            event_values = self.child("events").device_function
            crossed, locate = make_event_handler(self.backend, self.precision, events, n, event_values, evaluate)
        else:
            event_values, crossed, locate = self._without_events()
        alloc_event_start, alloc_event_end = alloc["event_start"], alloc["event_end"]
        alloc_event_trial, alloc_event_fractions = alloc["event_trial"], alloc["event_fractions"]
        alloc_event_state = alloc["event_state"]
        n_events, terminal_flag = len(events), int(Status.TERMINAL_EVENT)

        def save(k, n_saves, t, state, p, buffer, state_out, observables_out):
            if save_series or k == n_saves - 1:
                row = k if save_series else 0
                for j in range(n):
                    state_out[row, j] = state[j]
                if save_observables:
                    observables(t, state, p, buffer)
                    for j in range(n_observables):
                        observables_out[row, j] = buffer[j]

        save = self.backend.device_function(save)

        def record(k, n_saves, t, state, p, buffer, state_out, observables_out, per_window, summary_out,
                   window, in_window, shared, persistent):
            # One save time: write it out, feed it to the summaries and close
            # the window it ends; returns the window position after it.
            save(k, n_saves, t, state, p, buffer, state_out, observables_out)
            if summarising:
                in_window += 1
                sample(in_window, t, state, p, shared, persistent)
                if k == n_saves - 1 or (k > 0 and k % per_window == 0):
                    finalise_window(in_window, summary_out[window], shared, persistent)
                    window += 1
                    in_window = 0
            return window, in_window

        record = self.backend.device_function(record)

        def initial_step(t, direction, y, p, f0, y1, f1, span, controller_settings):
            # Hairer-Norsett-Wanner's starting step: scale h so that an
            # explicit Euler step changes y by about 1% of the tolerance.
            # Worked in the working precision (it only sets the scale of
            # the first step); the result is a float64 step size.
            dxdt(t, y, p, f0)
            d0 = norm(y, y, y, controller_settings)
            d1 = norm(f0, y, y, controller_settings)
            h0 = fallback * dtype(span)
            if d0 >= small and d1 >= small:
                h0 = hundredth * d0 / d1
            h0 = min(h0, dtype(span))
            signed = dtype(direction) * h0
            for j in range(n):
                y1[j] = y[j] + signed * f0[j]
            dxdt(t + signed, y1, p, f1)
            for j in range(n):
                f1[j] = f1[j] - f0[j]
            d2 = norm(f1, y, y, controller_settings) / h0
            largest = max(d1, d2)
            if largest <= tiny:
                h1 = max(fallback * dtype(span), h0 * dtype(1e-3))
            else:
                h1 = (hundredth / largest) ** start_exponent
            return min(float(min(dtype(100.0) * h0, h1)), span)

        initial_step = self.backend.device_function(initial_step)

        def loop(t0, t_end, dt0, y0, params, save_times, per_window, state_out, observables_out, summary_out,
                 end_state, end_time, event_counts, event_times, event_states, counters, settings, shared,
                 persistent):
            dt_min, dt_max = settings[dt_min_at], settings[dt_max_at]
            max_steps = int(settings[max_steps_at])
            algorithm_settings = algorithm_block(settings)
            controller_settings = controller_block(settings)
            state = alloc_state(shared, persistent)
            proposal = alloc_proposal(shared, persistent)
            error = alloc_error(shared, persistent)
            p = alloc_parameters(shared, persistent)
            observed = alloc_observables(shared, persistent)
            interpolated = alloc_sample(shared, persistent)
            algorithm_shared, algorithm_persistent = algorithm_view(shared, persistent)
            controller_shared, controller_persistent = controller_view(shared, persistent)
            summaries_shared, summaries_persistent = summaries_view(shared, persistent)
            interpolant_shared, interpolant_persistent = interpolant_view(shared, persistent)
            if summarising:
                initialise_summaries(summaries_shared, summaries_persistent)
            window = 0
            in_window = 0
            for j in range(n):
                state[j] = y0[j]
            for j in range(n_parameters):
                p[j] = params[j]
            initialise(controller_settings, controller_shared, controller_persistent)
            event_start = alloc_event_start(shared, persistent)
            event_end = alloc_event_end(shared, persistent)
            event_trial = alloc_event_trial(shared, persistent)
            event_fractions = alloc_event_fractions(shared, persistent)
            event_state = alloc_event_state(shared, persistent)
            if detecting:
                for e in range(n_events):
                    event_counts[e] = 0
                    for row in range(event_times.shape[1]):
                        event_times[e, row] = math.nan
                        for j in range(n):
                            event_states[e, row, j] = nan
                event_values(t0, state, p, event_start)

            # Time runs towards t_end; every comparison of times is made
            # along that direction, and step sizes are kept positive.
            direction = 1.0 if t_end >= t0 else -1.0
            n_saves = save_times.shape[0]
            t = t0
            dt = dt0
            if adaptive and dt0 <= zero:
                start = alloc_start(shared, persistent)
                dt = initial_step(t0, direction, state, p, error, proposal, start, abs(t_end - t0),
                                  controller_settings)
            k = 0
            accepted = 0
            rejected = 0
            status = ok
            last_failure = ok
            counters[newton_at] = 0
            counters[linear_at] = 0
            fsal_valid = False
            end_known = False  # the interpolant knows the last step's end point
            while k < n_saves and direction * (save_times[k] - t) <= 0.0:
                window, in_window = record(k, n_saves, save_times[k], state, p, observed, state_out,
                                           observables_out, per_window, summary_out, window, in_window,
                                           summaries_shared, summaries_persistent)
                k += 1
            while direction * (t_end - t) > 0.0:
                if accepted + rejected >= max_steps:
                    status |= max_steps_flag
                    break
                target = t_end
                if not interpolating and k < n_saves:
                    target = save_times[k]
                remaining = direction * (target - t)
                clipped = dt >= remaining
                h = remaining if clipped else dt
                signed = direction * h
                if t + signed == t:  # the step is below the resolution of t
                    status |= dt_flag
                    break
                step_status = step(t, dtype(signed), state, p, proposal, error, fsal_valid, accepted, counters,
                                   algorithm_settings, algorithm_shared, algorithm_persistent)
                error_is_finite = True
                if step_status != ok:
                    accept, dt_next = False, h * failed_step_shrink
                    last_failure = step_status
                elif adaptive:
                    size = norm(error, state, proposal, controller_settings)
                    error_is_finite = math.isfinite(size)
                    if error_is_finite:
                        accept, dt_next = control(h, size, controller_settings, controller_shared,
                                                  controller_persistent)
                    else:  # no error estimate to steer by: shrink hard and retry
                        accept, dt_next = False, h * failed_shrink
                else:
                    accept, dt_next = True, dt
                if accept:
                    accepted += 1
                    fsal_valid = True
                    finite = True
                    for j in range(n):
                        if not math.isfinite(proposal[j]):
                            finite = False
                    if not finite:
                        status |= nonfinite_flag
                        break
                    t_new = target if clipped else t + signed
                    inside = interpolating and k < n_saves and direction * (save_times[k] - t_new) < 0.0
                    crossing = False
                    if detecting:
                        event_values(t_new, proposal, p, event_end)
                        crossing = crossed(event_start, event_end)
                    if inside or crossing:
                        prepare(t, dtype(signed), state, proposal, p, end_known, interpolant_shared,
                                interpolant_persistent)
                    stop = 2.0
                    if crossing:
                        stop = locate(t, dtype(signed), state, proposal, p, event_start, event_end, event_counts,
                                      event_times, event_states, event_fractions, event_trial, event_state,
                                      interpolant_shared, interpolant_persistent)
                    # A terminal event ends the run inside the step: saves go up to it.
                    t_reached = t + stop * signed if stop < 1.0 else t_new
                    while k < n_saves and direction * (save_times[k] - t_reached) <= 0.0:
                        # Inside the step (the interpolant is prepared), or at its end.
                        if save_times[k] != t_new:
                            evaluate((save_times[k] - t) / signed, dtype(signed), state, proposal, interpolated,
                                     interpolant_shared, interpolant_persistent)
                            window, in_window = record(k, n_saves, save_times[k], interpolated, p, observed,
                                                       state_out, observables_out, per_window, summary_out,
                                                       window, in_window, summaries_shared, summaries_persistent)
                        else:
                            window, in_window = record(k, n_saves, save_times[k], proposal, p, observed,
                                                       state_out, observables_out, per_window, summary_out,
                                                       window, in_window, summaries_shared, summaries_persistent)
                        k += 1
                    end_known = inside or crossing
                    if stop <= 1.0:  # the terminal event's state, which locate left in event_state
                        for j in range(n):
                            state[j] = event_state[j]
                        t = t_reached
                        status |= terminal_flag
                        break
                    for j in range(n):
                        state[j] = proposal[j]
                    for e in range(n_events):
                        event_start[e] = event_end[e]
                    t = t_new
                    # A step cut short to land on a time says nothing about
                    # the step the solution allows: keep the larger proposal.
                    dt = max(dt_next, dt) if clipped else dt_next
                else:
                    rejected += 1
                    fsal_valid = False
                    dt = dt_next
                dt = min(dt, dt_max)
                if adaptive and dt < dt_min:
                    status |= dt_flag | last_failure
                    if not error_is_finite:
                        status |= nonfinite_flag
                    break
            end_time[0] = t
            for j in range(n):
                end_state[j] = state[j]
            first_unreached = k if save_series else (0 if k < n_saves else 1)
            for row in range(first_unreached, state_out.shape[0]):
                for j in range(n):
                    state_out[row, j] = nan
                if save_observables:
                    for j in range(n_observables):
                        observables_out[row, j] = nan
            if summarising:
                for row in range(window, summary_out.shape[0]):
                    for j in range(summary_width):
                        summary_out[row, j] = nan
            counters[accepted_at] = accepted
            counters[rejected_at] = rejected
            return status

        # Called, not inlined at numba-IR level into the body: IR inlining
        # copies and retypes the whole expanded loop once more for nothing
        # (one call per trajectory). Measured, Lorenz tsit5, 2 cores: cold
        # compile 5.1 -> 2.7 s, kvaerno5 9.7 -> 6.2 s; run time within noise.
        return self.backend.device_function(loop, inline=False)

    def _without_interpolant(self):
        """Stand-ins for the interpolant's functions in a loop that steps onto its saves.

        The loop's code is the same either way, so it needs something to
        type; these are never called (every call sits behind a False
        compile-time constant, which numba and LLVM remove).
        """

        def evaluate(theta, dt, y, y_new, out, shared, persistent):
            pass

        def passthrough(shared, persistent):
            return shared, persistent

        device = self.backend.device_function
        return device(nothing_to_prepare), device(evaluate), device(passthrough)

    def _without_events(self):
        """Stand-ins for the event functions and handler in a loop without events (never called)."""

        def values(t, y, p, out):
            pass

        def crossed(previous, current):
            return False

        def locate(t, dt, y, y_new, p, previous, current, counts, times, states, fractions, trial_values,
                   trial_state, shared, persistent):
            return 2.0

        device = self.backend.device_function
        return device(values), device(crossed), device(locate)
