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
   Step attempts whose linear solve failed are counted
   (``Counter.LINEAR_SOLVER_FAILURES``), and
   :data:`MAX_LINEAR_FAILURES_IN_A_ROW` of them in a row end the run with
   ``LINEAR_SOLVER_FAILED``. A step whose proposal is not finite ends the
   run with ``NONFINITE`` and is not taken.
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

from batchode.counters import Counter
from batchode.events import make_event_handler
from batchode.factory import CUDAFactory, runtime_setting
from batchode.outputs.summaries import SummaryOutputs
from batchode.status import Status


#: Status flags and counter slots as the plain ints device code tests and indexes with.
_OK, _MAX_STEPS = int(Status.SUCCESS), int(Status.MAX_STEPS)
_DT_BELOW_MIN, _NONFINITE = int(Status.DT_BELOW_MIN), int(Status.NONFINITE)
_TERMINAL_EVENT, _LINEAR_FAILED = int(Status.TERMINAL_EVENT), int(Status.LINEAR_SOLVER_FAILED)
_ACCEPTED_AT, _REJECTED_AT = int(Counter.ACCEPTED), int(Counter.REJECTED)
_NEWTON_AT, _LINEAR_AT = int(Counter.NEWTON_ITERATIONS), int(Counter.LINEAR_ITERATIONS)
_LINEAR_FAILURES_AT = int(Counter.LINEAR_SOLVER_FAILURES)
#: Step attempts in a row whose linear solve failed before a run ends with
#: ``LINEAR_SOLVER_FAILED``. Each retry is a quarter of the last, so the
#: step has shrunk 256-fold and ``I - alpha J`` is close to ``I``: a solver
#: that still fails is stalled (a Krylov tolerance below what the precision
#: resolves, a preconditioner that diverges), not facing a hard step, and
#: shrinking further would only hide that in thousands of tiny steps.
MAX_LINEAR_FAILURES_IN_A_ROW = 4


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
        self.register_buffer("controller_values", "local", lambda: self.child("controller").runtime_size,
                             precision=np.float64, enabled=lambda: self.copies_controller_values)
        self.register_buffer(
            "observables", "local", system.n_observables,
            enabled=lambda: self.settings.save_observables and system.n_observables > 0,
        )

    @property
    def copies_controller_values(self) -> bool:
        """True when the controller reads a per-run local copy of its run-time values (the CPU; see
        :meth:`_controller_values`)."""
        return self.backend.name == "cpu" and self.child("controller").runtime_size > 0

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
        """Compile the loop (see the module's contract) from the pieces below.

        Each piece is a device function inlined into the loop at numba-IR
        level, so the compiled loop is still one function and its LOCAL
        buffers stay in its frame; the split only names the parts. The step
        itself is called from the loop's body, and the pieces run at every
        step take no kernel-level array (see :meth:`_decide`). Only the
        pieces a loop needs are built: without an interpolant it never sees
        the interpolant's or the events' code.
        """
        record = self._recorder()
        record_until = self._record_until(record)
        # Without an interpolant there are no events either (the constructor
        # refuses them), and steps land on the saves.
        interpolant = self._interpolant() if self.has_interpolant else None
        begin_events, detect, locate = self._event_handler(None if interpolant is None else interpolant[1])
        if interpolant is None:
            advance = self._landing_advance(record_until)
        else:
            advance = self._interpolating_advance(record, interpolant, detect, locate)
        return self._loop(self._starter(begin_events, record_until), self._size_step(), self._decide(),
                          self._finite(), advance, self._finisher())

    def _loop(self, start, size_step, decide, finite, advance, finish):
        """The loop's device function: ``start``, steps until the run ends, ``finish`` (see :meth:`build`)."""
        dt_min_at, dt_max_at = self.runtime_offset("dt_min"), self.runtime_offset("dt_max")
        max_steps_at, adaptive, interpolating = self.runtime_offset("max_steps"), self.is_adaptive, self.interpolates
        step, dtype, registry = self.child("algorithm").device_function, self.precision.type, self.buffer_registry
        # The step's own cap on its Newton iterations, for the controller (control contract item 3).
        newton_cap_at = self.child("algorithm").newton_cap_offset
        has_newton_cap, newton_cap_at = newton_cap_at is not None, newton_cap_at or 0
        alloc_state, alloc_proposal = self._allocator("state"), self._allocator("proposal")
        alloc_error, alloc_parameters = self._allocator("error"), self._allocator("parameters")
        alloc_observables, alloc_event_start = self._allocator("observables"), self._allocator("event_start")
        algorithm_view, controller_view = registry.child_view("algorithm"), registry.child_view("controller")
        algorithm_block, controller_values = self.runtime_view("algorithm"), self._controller_values()

        def loop(t0, t_end, dt0, y0, params, save_times, per_window, state_out, observables_out, summary_out,
                 end_state, end_time, event_counts, event_times, event_states, counters, settings, shared,
                 persistent):
            max_steps = int(settings[max_steps_at])
            state, proposal = alloc_state(shared, persistent), alloc_proposal(shared, persistent)
            error, p = alloc_error(shared, persistent), alloc_parameters(shared, persistent)
            observed, event_start = alloc_observables(shared, persistent), alloc_event_start(shared, persistent)
            # The step's and the controller's blocks, made once: the hot path
            # hands inlined pieces no kernel-level array (see _decide).
            algorithm_settings = algorithm_block(settings)
            controller_settings = controller_values(settings, shared, persistent)
            algorithm_shared, algorithm_persistent = algorithm_view(shared, persistent)
            controller_shared, controller_persistent = controller_view(shared, persistent)
            max_iterations = int(algorithm_settings[newton_cap_at]) if has_newton_cap else 0
            outputs = (save_times, per_window, state_out, observables_out, summary_out)
            direction, dt, k, window, in_window = start(
                t0, t_end, dt0, y0, params, state, p, error, proposal, observed, event_start, event_counts,
                event_times, event_states, outputs, counters, settings, shared, persistent)
            # Typed zero and False: literal ones would make numba compile the step once more.
            accepted, fsal_valid = np.int64(0), np.bool_(False)
            t, rejected, status, last_failure = t0, 0, _OK, _OK
            linear_failures, linear_failures_in_a_row = 0, 0
            end_known = False  # the interpolant knows the last step's end point
            while direction * (t_end - t) > 0.0:
                if accepted + rejected >= max_steps:
                    status |= _MAX_STEPS
                    break
                target = save_times[k] if not interpolating and k < save_times.shape[0] else t_end
                clipped, h, signed = size_step(t, dt, target, direction)
                if t + signed == t:  # the step is below the resolution of t
                    status |= _DT_BELOW_MIN
                    break
                newton_before = counters[_NEWTON_AT]
                step_status = step(t, dtype(signed), state, p, proposal, error, fsal_valid, accepted, counters,
                                   algorithm_settings, algorithm_shared, algorithm_persistent)
                accept, dt_next, error_is_finite, last_failure = decide(
                    step_status, h, dt, state, proposal, error, last_failure, counters[_NEWTON_AT] - newton_before,
                    max_iterations, controller_settings, controller_shared, controller_persistent)
                if step_status & _LINEAR_FAILED:
                    linear_failures += 1
                    linear_failures_in_a_row += 1
                    if linear_failures_in_a_row >= MAX_LINEAR_FAILURES_IN_A_ROW:
                        rejected += 1
                        status |= _LINEAR_FAILED
                        break
                else:
                    linear_failures_in_a_row = 0
                if accept:
                    accepted += 1
                    fsal_valid = True
                    if not finite(proposal):  # not taken
                        status |= _NONFINITE
                        break
                    t_new = target if clipped else t + signed
                    t, k, window, in_window, end_known, terminal = advance(
                        t, signed, t_new, direction, state, proposal, p, observed, event_start, k, window,
                        in_window, end_known, outputs, event_counts, event_times, event_states, shared, persistent)
                    if terminal:
                        status |= _TERMINAL_EVENT
                        break
                    # A step cut short to land on a time says nothing about
                    # the step the solution allows: keep the larger proposal.
                    dt = max(dt_next, dt) if clipped else dt_next
                else:
                    rejected += 1
                    fsal_valid = False
                    dt = dt_next
                # dt_max and dt_min are read here, each step, at an index
                # that depends on the step count though it adds 0 (until
                # 2**62 steps): read once before the loop, the compiler keeps
                # them in registers across the whole step (on CUDA, Lorenz
                # tsit5 in float32: 56 registers against 64).
                unhoisted = (accepted + rejected) >> 62
                dt = min(dt, settings[dt_max_at + unhoisted])
                if adaptive and dt < settings[dt_min_at + unhoisted]:
                    status |= _DT_BELOW_MIN | last_failure
                    if not error_is_finite:
                        status |= _NONFINITE
                    break
            finish(t, k, window, state, end_state, end_time, outputs, counters, accepted, rejected)
            counters[_LINEAR_FAILURES_AT] = linear_failures
            return status

        # Called, not inlined at numba-IR level into the body: IR inlining
        # copies and retypes the whole expanded loop once more for nothing
        # (one call per trajectory). Measured, Lorenz tsit5, 2 cores: cold
        # compile 5.1 -> 2.7 s, kvaerno5 9.7 -> 6.2 s; run time within noise.
        return self.backend.device_function(loop, inline=False)

    def _controller_values(self):
        """Device function ``(settings, shared, persistent) -> the controller's run-time values`` for the loop.

        On CUDA, the controller's block of ``settings`` itself, which the
        control law reads where it uses each value (control contract item
        4), so that none of them holds a register across the step. On the
        CPU, a copy in the loop's LOCAL ``controller_values``, made once per
        run: loads from the run-time array may alias the outputs the loop
        writes, so the compiler would keep them where they are, in the
        branches of the law, while loads from a local copy it may move and
        merge. Measured (Lorenz tsit5, 10,000 runs, 2 threads, best of 9):
        0.103 s with the copy, 0.111 s without, 0.100 s with the values
        compiled in.
        """
        controller_block, size = self.runtime_view("controller"), self.child("controller").runtime_size
        if self.copies_controller_values:
            alloc_copy = self._allocator("controller_values")

            def controller_values(settings, shared, persistent):
                block, copy = controller_block(settings), alloc_copy(shared, persistent)
                for q in range(size):
                    copy[q] = block[q]
                return copy

        else:

            def controller_values(settings, shared, persistent):
                return controller_block(settings)

        return self.backend.device_function(controller_values)

    def _allocator(self, name: str):
        """The allocator device function of the loop's buffer ``name``."""
        return self.buffer_registry.buffers[name].allocate()

    def _recorder(self):
        """Device function that writes one save time out and feeds it to the summaries.

        ``record(k, t, y, p, observed, outputs, window, in_window, shared,
        persistent) -> (window, in_window)`` writes state ``y`` at save time
        ``k`` (time ``t``) and its observables (computed into the scratch
        ``observed``) into ``outputs``, the loop's tuple ``(save_times,
        per_window, state_out, observables_out, summary_out)``, samples the
        summaries (in their region of the loop's ``shared`` and
        ``persistent``) and, when the sample closes a window, writes that
        window's row. Returns the window position after the sample.
        """
        system, s = self.system, self.settings
        n, n_observables = system.n_states, system.n_observables
        save_series = s.save_time_series
        save_observables = s.save_observables and n_observables > 0
        observables = self.child("algorithm").child("system").observables_function
        summaries = self.child("summaries")
        summarising = summaries.is_active
        sample, finalise_window = summaries.built.sample, summaries.built.finalise
        summaries_view = self.buffer_registry.child_view("summaries")

        def record(k, t, y, p, observed, outputs, window, in_window, shared, persistent):
            save_times, per_window, state_out, observables_out, summary_out = outputs
            n_saves = save_times.shape[0]
            # Without a time series only the last save time is written (row 0).
            if save_series or k == n_saves - 1:
                row = k if save_series else 0
                for j in range(n):
                    state_out[row, j] = y[j]
                if save_observables:
                    observables(t, y, p, observed)
                    for j in range(n_observables):
                        observables_out[row, j] = observed[j]
            if summarising:
                summaries_shared, summaries_persistent = summaries_view(shared, persistent)
                in_window += 1
                sample(in_window, t, y, p, summaries_shared, summaries_persistent)
                if k == n_saves - 1 or (k > 0 and k % per_window == 0):
                    finalise_window(in_window, summary_out[window], summaries_shared, summaries_persistent)
                    window += 1
                    in_window = 0
            return window, in_window

        return self.backend.device_function(record)

    def _record_until(self, record):
        """Device function that records, as state ``y``, every save time up to ``t_reached``.

        ``record_until(k, window, in_window, t_reached, direction, y, p,
        observed, outputs, shared, persistent) -> (k, window, in_window)``
        calls ``record`` (:meth:`_recorder`) for save times ``k, k + 1,
        ...`` that are not past ``t_reached`` along ``direction``: the saves
        at the start of a run, and those a step lands on.
        """

        def record_until(k, window, in_window, t_reached, direction, y, p, observed, outputs, shared, persistent):
            save_times = outputs[0]
            while k < save_times.shape[0] and direction * (save_times[k] - t_reached) <= 0.0:
                window, in_window = record(k, save_times[k], y, p, observed, outputs, window, in_window, shared,
                                           persistent)
                k += 1
            return k, window, in_window

        return self.backend.device_function(record_until)

    def _starter(self, begin_events, record_until):
        """Device function that sets a run up: its state, its children, its events and saves, its first step.

        ``start(t0, t_end, dt0, y0, params, state, p, f0, y1, observed,
        event_start, event_counts, event_times, event_states, outputs,
        counters, settings, shared, persistent) -> (direction, dt, k,
        window, in_window)`` copies ``y0`` and
        ``params`` in, initialises the summaries and the controller, begins
        the events (``begin_events`` of :meth:`_event_handler`), zeroes the
        solvers' iteration counters and writes the saves at ``t0``
        (``record_until``, :meth:`_record_until`; the save position after
        them is returned). Time runs towards ``t_end``: ``direction`` is 1.0
        or -1.0. The first step size is ``dt0`` or, for adaptive
        control with ``dt0 <= 0``, the automatic one (``f0`` and ``y1`` are
        its scratch).
        """
        system = self.system
        n, n_parameters = system.n_states, system.n_parameters
        adaptive, zero = self.is_adaptive, self.precision.type(0.0)
        summarising = self.child("summaries").is_active
        initialise_summaries = self.child("summaries").built.initialise
        initialise = self.child("controller").built.initialise
        summaries_view = self.buffer_registry.child_view("summaries")
        controller_view = self.buffer_registry.child_view("controller")
        controller_block = self.runtime_view("controller")
        initial_step = self._initial_step()
        alloc_start = self._allocator("start_derivative")

        def start(t0, t_end, dt0, y0, params, state, p, f0, y1, observed, event_start, event_counts, event_times,
                  event_states, outputs, counters, settings, shared, persistent):
            # Every comparison of times is made along the direction of
            # integration, and step sizes are kept positive.
            direction = 1.0 if t_end >= t0 else -1.0
            controller_settings = controller_block(settings)
            if summarising:
                summaries_shared, summaries_persistent = summaries_view(shared, persistent)
                initialise_summaries(summaries_shared, summaries_persistent)
            for j in range(n):
                state[j] = y0[j]
            for j in range(n_parameters):
                p[j] = params[j]
            controller_shared, controller_persistent = controller_view(shared, persistent)
            initialise(controller_settings, controller_shared, controller_persistent)
            begin_events(t0, state, p, event_start, event_counts, event_times, event_states)
            dt = dt0
            if adaptive and dt0 <= zero:
                f1 = alloc_start(shared, persistent)
                dt = initial_step(t0, direction, state, p, f0, y1, f1, abs(t_end - t0), controller_settings)
            counters[_NEWTON_AT] = 0
            counters[_LINEAR_AT] = 0
            k, window, in_window = record_until(0, 0, 0, t0, direction, state, p, observed, outputs, shared,
                                                persistent)
            return direction, dt, k, window, in_window

        return self.backend.device_function(start)

    def _initial_step(self):
        """Device function ``initial_step(t, direction, y, p, f0, y1, f1, span, controller_settings)``.

        Hairer-Norsett-Wanner's automatic first step (two evaluations of
        ``f``; ``f0``, ``y1`` and ``f1`` are its scratch), a float64 size
        no larger than ``span``.
        """
        algorithm = self.child("algorithm")
        dxdt = algorithm.child("system").device_function
        norm = self.child("controller").built.norm
        n, dtype = self.system.n_states, self.precision.type
        start_exponent = dtype(1.0 / (algorithm.order + 1))
        small, tiny, hundredth = dtype(1e-5), dtype(1e-15), dtype(0.01)
        fallback = dtype(1e-6)

        def initial_step(t, direction, y, p, f0, y1, f1, span, controller_settings):
            # Scale h so that an explicit Euler step changes y by about 1% of
            # the tolerance. Worked in the working precision (it only sets
            # the scale of the first step); the result is a float64 size.
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

        return self.backend.device_function(initial_step)

    def _size_step(self):
        """Device function ``size_step(t, dt, target, direction) -> (clipped, h, signed)``: the next step's size.

        The step from ``t`` towards ``target`` is ``dt`` long or, when that
        is no less than the distance left (``clipped``), that distance; ``h``
        is its size and ``signed`` the step along ``direction``.
        """

        def size_step(t, dt, target, direction):
            remaining = direction * (target - t)
            clipped = dt >= remaining
            h = remaining if clipped else dt
            return clipped, h, direction * h

        return self.backend.device_function(size_step)

    def _decide(self):
        """Device function through which the controller decides on a step that was tried.

        ``decide(step_status, h, dt, state, proposal, error, last_failure,
        iterations, max_iterations, controller_settings, controller_shared,
        controller_persistent) -> (accept, dt_next, error_is_finite,
        last_failure)`` for the step of size ``h`` from ``state`` to
        ``proposal`` with error estimate ``error``, which took ``iterations``
        Newton iterations of at most ``max_iterations`` (both handed to the
        controller, :mod:`batchode.control.base`): whether to accept it, the
        next step size, and whether the error estimate was finite. A step
        whose own status is not 0 is rejected with a quarter of its size, and
        its status becomes ``last_failure`` (reported if the run ends below
        ``dt_min``); fixed steps are always accepted and keep ``dt``.

        It takes the controller's blocks, made once by the loop, rather than
        the loop's ``settings``, ``shared`` and ``persistent``: on the CPU a
        kernel-level array handed to an inlined function is reference
        counted, and at every step that cost 5% of the run time (measured,
        Lorenz tsit5, one thread).
        """
        controller = self.child("controller").built
        control, norm = controller.device_function, controller.norm
        adaptive, dtype = self.is_adaptive, self.precision.type
        failed_shrink, failed_step_shrink = dtype(0.1), dtype(0.25)

        def decide(step_status, h, dt, state, proposal, error, last_failure, iterations, max_iterations,
                   controller_settings, controller_shared, controller_persistent):
            error_is_finite = True
            if step_status != _OK:
                accept, dt_next = False, h * failed_step_shrink
                last_failure = step_status
            elif adaptive:
                size = norm(error, state, proposal, controller_settings)
                error_is_finite = math.isfinite(size)
                if error_is_finite:
                    accept, dt_next = control(h, size, iterations, max_iterations, controller_settings,
                                              controller_shared, controller_persistent)
                else:  # no error estimate to steer by: shrink hard and retry
                    accept, dt_next = False, h * failed_shrink
            else:
                accept, dt_next = True, dt
            return accept, dt_next, error_is_finite, last_failure

        return self.backend.device_function(decide)

    def _finite(self):
        """Device function ``finite(y) -> bool``: is every state finite?"""
        n = self.system.n_states

        def finite(y):
            # No exit inside the loop: LLVM unrolls it fully and the state
            # stays in registers (an early return indexed it at run time,
            # which put it in local memory: measured on CUDA, a 16-byte stack).
            all_finite = True
            for j in range(n):
                if not math.isfinite(y[j]):
                    all_finite = False
            return all_finite

        return self.backend.device_function(finite)

    def _landing_advance(self, record_until):
        """``advance`` (see :meth:`_interpolating_advance`) of a loop without an interpolant.

        Its steps land on the save times, so the saves a step reaches are
        its end state; there are no events, so the run always goes on.
        """
        n = self.system.n_states

        def advance(t, signed, t_new, direction, state, proposal, p, observed, event_start, k, window, in_window,
                    end_known, outputs, event_counts, event_times, event_states, shared, persistent):
            k, window, in_window = record_until(k, window, in_window, t_new, direction, proposal, p, observed,
                                                outputs, shared, persistent)
            for j in range(n):
                state[j] = proposal[j]
            return t_new, k, window, in_window, end_known, False

        return self.backend.device_function(advance)

    def _interpolating_advance(self, record, interpolant, detect, locate):
        """Device function that takes an accepted step: its events, its saves, and the move to its end.

        ``advance(t, signed, t_new, direction, state, proposal, p, observed,
        event_start, k, window, in_window, end_known, outputs, event_counts,
        event_times, event_states, shared, persistent) -> (t, k, window, in_window, end_known,
        terminal)`` for the finite step from ``(t, state)`` to ``(t_new,
        proposal)`` (``signed`` as taken), with ``interpolant``
        (:meth:`_interpolant`) and the events' ``detect`` and ``locate``
        (:meth:`_event_handler`): the step's event crossings are located
        and recorded, the saves up to its end, or up to a terminal event
        inside it, are written, and the time, ``state`` and ``event_start``
        move to the step's end, or to the terminal event (``terminal``).
        ``end_known`` says the interpolant was prepared for this step (see
        :mod:`batchode.algorithms.interpolation`).
        """
        n, dtype, n_events = self.system.n_states, self.precision.type, len(self.events)
        interpolating = self.interpolates
        prepare, evaluate, interpolant_view = interpolant
        alloc_event_end, alloc_trial = self._allocator("event_end"), self._allocator("event_trial")
        alloc_fractions, alloc_event_state = self._allocator("event_fractions"), self._allocator("event_state")
        fill_saves = self._interpolated_saves(record, interpolant)

        def advance(t, signed, t_new, direction, state, proposal, p, observed, event_start, k, window, in_window,
                    end_known, outputs, event_counts, event_times, event_states, shared, persistent):
            save_times = outputs[0]
            interpolant_shared, interpolant_persistent = interpolant_view(shared, persistent)
            event_end = alloc_event_end(shared, persistent)
            event_state = alloc_event_state(shared, persistent)
            inside = interpolating and k < save_times.shape[0] and direction * (save_times[k] - t_new) < 0.0
            crossing = detect(t_new, proposal, p, event_start, event_end)
            if inside or crossing:
                prepare(t, dtype(signed), state, proposal, p, end_known, interpolant_shared, interpolant_persistent)
            stop = 2.0
            if crossing:
                stop = locate(t, dtype(signed), state, proposal, p, event_start, event_end, event_counts,
                              event_times, event_states, alloc_fractions(shared, persistent),
                              alloc_trial(shared, persistent), event_state, interpolant_shared,
                              interpolant_persistent)
            # A terminal event ends the run inside the step: saves go up to it.
            t_reached = t + stop * signed if stop < 1.0 else t_new
            k, window, in_window = fill_saves(k, window, in_window, t, signed, t_new, t_reached, direction, state,
                                              proposal, p, observed, outputs, shared, persistent)
            if stop <= 1.0:  # the terminal event's state, which locate left in event_state
                for j in range(n):
                    state[j] = event_state[j]
                return t_reached, k, window, in_window, inside or crossing, True
            for j in range(n):
                state[j] = proposal[j]
            for e in range(n_events):
                event_start[e] = event_end[e]
            return t_new, k, window, in_window, inside or crossing, False

        return self.backend.device_function(advance)

    def _interpolated_saves(self, record, interpolant):
        """Device function that writes the saves inside an accepted step from the interpolant.

        ``fill_saves(k, window, in_window, t, signed, t_new, t_reached,
        direction, y, y_new, p, observed, outputs, shared, persistent) ->
        (k, window, in_window)`` records every save time up to ``t_reached``
        (the step's end ``t_new``, or a terminal event before it): those
        inside the step from ``interpolant`` (:meth:`_interpolant`, already
        prepared for the step), one at its end as ``y_new`` itself.
        """
        dtype = self.precision.type
        _, evaluate, interpolant_view = interpolant
        alloc_sample = self._allocator("sample")

        def fill_saves(k, window, in_window, t, signed, t_new, t_reached, direction, y, y_new, p, observed, outputs,
                       shared, persistent):
            save_times = outputs[0]
            interpolated = alloc_sample(shared, persistent)
            interpolant_shared, interpolant_persistent = interpolant_view(shared, persistent)
            while k < save_times.shape[0] and direction * (save_times[k] - t_reached) <= 0.0:
                if save_times[k] != t_new:
                    evaluate((save_times[k] - t) / signed, dtype(signed), y, y_new, interpolated,
                             interpolant_shared, interpolant_persistent)
                    window, in_window = record(k, save_times[k], interpolated, p, observed, outputs, window,
                                               in_window, shared, persistent)
                else:
                    window, in_window = record(k, save_times[k], y_new, p, observed, outputs, window, in_window,
                                               shared, persistent)
                k += 1
            return k, window, in_window

        return self.backend.device_function(fill_saves)

    def _finisher(self):
        """Device function that ends a run: its end point, the unreached outputs, and its step counts.

        ``finish(t, k, window, state, end_state, end_time, outputs, counters,
        accepted, rejected)`` writes the time reached and the state there,
        fills the save rows from ``k`` on and the summary rows from
        ``window`` on with NaN (the run did not reach them), and writes the
        accepted and rejected step counts.
        """
        system, s = self.system, self.settings
        n, n_observables = system.n_states, system.n_observables
        save_series = s.save_time_series
        save_observables = s.save_observables and n_observables > 0
        nan = self.precision.type(math.nan)
        summaries = self.child("summaries")
        summarising, summary_width = summaries.is_active, summaries.width

        def finish(t, k, window, state, end_state, end_time, outputs, counters, accepted, rejected):
            save_times, _, state_out, observables_out, summary_out = outputs
            end_time[0] = t
            for j in range(n):
                end_state[j] = state[j]
            # Without a time series, the one row is reached with the last save time.
            first_unreached = k if save_series else (0 if k < save_times.shape[0] else 1)
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
            counters[_ACCEPTED_AT] = accepted
            counters[_REJECTED_AT] = rejected

        return self.backend.device_function(finish)

    def _interpolant(self):
        """The interpolant's ``prepare`` and ``evaluate`` and the view of its memory.

        The interpolant is child ``interpolant`` or, when it has none, the
        step itself, which reads the stages it kept in its own memory.
        """
        if "interpolant" in self.children:
            interpolant = self.child("interpolant").built
            return interpolant.prepare, interpolant.evaluate, self.buffer_registry.child_view("interpolant")
        interpolant = self.child("algorithm").built.interpolant
        return interpolant.prepare, interpolant.evaluate, self.buffer_registry.child_view("algorithm")

    def _event_handler(self, evaluate):
        """The device functions through which the loop detects and handles events.

        ``begin_events(t0, y, p, event_start, event_counts, event_times,
        event_states)`` clears the event records (NaN where none is
        recorded) and writes the event functions at the start of the run
        into ``event_start``; ``detect(t_new, y_new, p, event_start,
        event_end) -> bool`` writes them at the end of an accepted step into
        ``event_end`` and says whether any event crosses in the step;
        ``locate`` is the handler's (:mod:`batchode.events`), on the
        interpolant whose ``evaluate`` is given. Without events, the first
        two do nothing and ``locate``, never called, is a stand-in so that
        the loop's code types.
        """
        device = self.backend.device_function
        if not self.events:

            def nothing_to_begin(t0, y, p, event_start, event_counts, event_times, event_states):
                pass

            def nothing_detected(t_new, y_new, p, event_start, event_end):
                return False

            def no_event(t, dt, y, y_new, p, previous, current, counts, times, states, fractions, trial_values,
                         trial_state, shared, persistent):
                return 2.0

            return device(nothing_to_begin), device(nothing_detected), device(no_event)
        n, n_events = self.system.n_states, len(self.events)
        nan = self.precision.type(math.nan)
        values = self.child("events").device_function
        crossed, locate = make_event_handler(self.backend, self.precision, self.events, n, values, evaluate)

        def begin_events(t0, y, p, event_start, event_counts, event_times, event_states):
            for e in range(n_events):
                event_counts[e] = 0
                for row in range(event_times.shape[1]):
                    event_times[e, row] = math.nan
                    for j in range(n):
                        event_states[e, row, j] = nan
            values(t0, y, p, event_start)

        def detect(t_new, y_new, p, event_start, event_end):
            values(t_new, y_new, p, event_end)
            return crossed(event_start, event_end)

        return device(begin_events), device(detect), locate
