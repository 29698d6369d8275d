"""Events: zero crossings of functions of the state, found between steps and recorded per run.

An :class:`Event` is a function ``g(t, y, p)`` written like an equation's
right-hand side (``"x - 1"``), with the direction of the crossings that
count, whether it ends the run, and how many occurrences each run records.
:class:`EventFunctions` compiles a system's events into one device function
``values(t, y, p, out)``; :func:`make_event_handler` makes the device code
the integration loop calls.

Handler contract (what the loop calls; ``theta`` is a float64 fraction of
the step, ``dt`` signed as the step saw it)::

    crossed(previous, current) -> bool
    theta_stop = locate(t, dt, y, y_new, p, previous, current, counts, times, states,
                        thetas, trial_values, trial_state, shared, persistent)

1. ``previous`` and ``current`` hold every event function at the start and
   the end of an accepted step. An event crosses when its value goes from
   below zero to zero or above (``direction`` +1 or 0) or from above zero
   to zero or below (-1 or 0), along the direction of integration; a value
   of exactly zero at the start is not a crossing (it was the end of the
   last one).
2. ``locate`` is called (after the interpolant's ``prepare``) when
   ``crossed`` says so. It finds each crossing on the interpolant with
   the Illinois variant of regula falsi, to ``THETA_TOLERANCE`` of the
   step (or as far as the working precision of ``g`` resolves it),
   counts it in ``counts`` and, while the event has records left, writes
   its time and state to ``times`` and ``states``.
3. A terminal event ends the run at the occurrence that reaches its
   count: ``locate`` returns that occurrence's ``theta`` (the earliest if
   several events end the run in one step), records no crossing after it,
   and leaves its state in ``trial_state``; it returns a value above 1
   when the run goes on.
4. ``shared``/``persistent`` are the interpolant's regions.
"""

from __future__ import annotations

import math
import numbers

import attrs
import numpy as np

from batchode.factory import CUDAFactory
from batchode.systems.event_code import compile_event_code, event_source

#: Root finding stops when the bracket is this fraction of the step (about
#: 5 ulp of theta near 1), or when the working precision of ``g`` cannot
#: tell its ends apart.
THETA_TOLERANCE = 1e-15
#: Most Illinois iterations per crossing: it converges superlinearly, and
#: bisection steps (taken when the secant leaves the bracket) halve it, so
#: 60 always reaches float64 resolution.
MAX_ROOT_ITERATIONS = 60


def _expression(instance, attribute, value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"an event's expression must be non-empty text over the system's names (e.g. 'x - 1'), "
                         f"got {value!r}")


def _direction(instance, attribute, value):
    if isinstance(value, bool) or value not in (-1, 0, 1):
        raise ValueError(f"event {instance.expression!r}: direction must be -1 (falling), 0 (both) or 1 (rising), "
                         f"got {value!r}")


def _stop_count(value) -> int:
    """``terminal`` as the occurrence count that ends the run (0: never)."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Integral) and value >= 0:
        return int(value)
    raise ValueError(f"an event's terminal must be True, False or the number of occurrences that ends the run "
                     f"(an integer >= 1), got {value!r}")


def _records(instance, attribute, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"event {instance.expression!r}: max_records must be an integer >= 1, got {value!r}")


@attrs.frozen
class Event:
    """An event function and what its zero crossings do.

    Parameters
    ----------
    expression : str
        ``g(t, y, p)`` as text over the system's states, parameters,
        observables, constants and ``t`` (like an equation's right-hand
        side); its zero crossings are the events.
    direction : {0, 1, -1}, default 0
        Which crossings count, along the direction of integration: 1 only
        rising (g from negative to non-negative), -1 only falling, 0 both.
    terminal : bool or int, default False
        True ends the run at the first occurrence; an integer k at the k-th
        (0, like False, never). The run ends with status ``TERMINAL_EVENT``,
        a success.
    max_records : int, default 16
        Occurrences per run whose time and state are recorded; later ones
        are still counted.
    name : str, optional
        Name in the results (default: the expression).
    """

    expression: str = attrs.field(validator=_expression)
    direction: int = attrs.field(default=0, validator=_direction)
    terminal: int = attrs.field(default=0, converter=_stop_count)
    max_records: int = attrs.field(default=16, validator=_records)
    name: str = attrs.field(default=None)

    def __attrs_post_init__(self):
        if self.name is None:
            object.__setattr__(self, "name", self.expression.strip())
        elif not isinstance(self.name, str) or not self.name:
            raise ValueError(f"event {self.expression!r}: name must be non-empty text, got {self.name!r}")


def as_events(events) -> tuple[Event, ...]:
    """Events given as an :class:`Event`, a string, a dict of its fields, or a sequence of those.

    Raises
    ------
    TypeError, ValueError
        For anything else, or two events of one name.
    """
    if events is None:
        return ()
    if isinstance(events, (str, Event, dict)):
        events = [events]
    try:
        items = list(events)
    except TypeError:
        raise TypeError(f"events must be an Event, a string, a dict of Event fields, or a sequence of those; "
                        f"got {events!r}") from None
    converted = []
    for item in items:
        if isinstance(item, Event):
            converted.append(item)
        elif isinstance(item, str):
            converted.append(Event(item))
        elif isinstance(item, dict):
            unknown = set(item) - {field.name for field in attrs.fields(Event)}
            if unknown:
                raise ValueError(f"event {item!r}: unknown field(s) {sorted(unknown)}; expected expression, "
                                 "direction, terminal, max_records, name")
            converted.append(Event(**item))
        else:
            raise TypeError(f"an event must be an Event, a string or a dict of Event fields, got {item!r}")
    names = [event.name for event in converted]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"event names must be distinct; {twice} appear more than once (pass name=...)")
    return tuple(converted)


@attrs.frozen
class EventSettings:
    """The events a kernel detects (compile-time: they shape the code)."""

    events: tuple = attrs.field(converter=as_events)

    @events.validator
    def _some(self, attribute, value):
        if not value:
            raise ValueError("EventFunctions needs at least one event")


class EventFunctions(CUDAFactory):
    """Compiles ``values(t, y, p, out)``: every event function of the system child ``system``."""

    Settings = EventSettings

    def __init__(self, system_factory, events, **kwargs):
        super().__init__(EventSettings(events), precision=system_factory.precision,
                         backend=system_factory.backend.name, **kwargs)
        self.add_child("system", system_factory)
        # Parsed now, so a bad event is an error before anything compiles.
        self._source = event_source(system_factory.system, [event.expression for event in self.events])

    @property
    def events(self) -> tuple[Event, ...]:
        return self.settings.events

    def hash_extras(self) -> tuple:
        return (self._source,)

    def build(self):
        system = self.child("system").system
        decorator = lambda function: self.backend.device_function(function, inline=False)  # noqa: E731
        return compile_event_code(self._source, system, decorator, self.precision.type).event_values


def _crossing_test(backend, dtype, directions: tuple[int, ...]):
    """Device function ``crosses(e, before, after) -> bool``: does event ``e`` cross (rule 1 of the contract)?"""
    zero = dtype(0.0)

    def crosses(e, before, after):
        rising = before < zero and after >= zero
        falling = before > zero and after <= zero
        return (rising and directions[e] >= 0) or (falling and directions[e] <= 0)

    return backend.device_function(crosses)


def _root_finder(backend, dtype, values, evaluate):
    """Device function ``root(e, t, dt, y, y_new, p, before, after, trial_values, trial_state, shared, persistent)``.

    Returns the fraction of the step at which event ``e``, whose values at
    the step's ends are ``before`` and ``after``, crosses zero on the
    interpolant (rule 2 of the contract); ``trial_values`` and
    ``trial_state`` are its scratch.
    """
    zero, half = dtype(0.0), 0.5

    def root(e, t, dt, y, y_new, p, before, after, trial_values, trial_state, shared, persistent):
        # Illinois: regula falsi on [lo, hi] with the stale end's value
        # halved when the same end survives twice, which keeps it
        # superlinear; a secant outside the bracket bisects instead.
        if after == zero:
            return 1.0
        lo, hi, g_lo, g_hi = 0.0, 1.0, float(before), float(after)
        kept = 0
        for _ in range(MAX_ROOT_ITERATIONS):
            if hi - lo <= THETA_TOLERANCE:
                break
            theta = hi - g_hi * (hi - lo) / (g_hi - g_lo)
            if not (lo < theta < hi):
                theta = half * (lo + hi)
            evaluate(theta, dt, y, y_new, trial_state, shared, persistent)
            values(t + theta * dt, trial_state, p, trial_values)
            g = float(trial_values[e])
            if g == 0.0:
                return theta
            if (g > 0.0) == (g_hi > 0.0):
                hi, g_hi = theta, g
                if kept == -1:
                    g_lo *= half
                kept = -1
            else:
                lo, g_lo = theta, g
                if kept == 1:
                    g_hi *= half
                kept = 1
        return hi

    return backend.device_function(root)


def make_event_handler(backend, precision, events: tuple[Event, ...], n_states: int, values, evaluate):
    """The handler's ``crossed`` and ``locate`` (see the module's contract) for ``events``.

    Parameters
    ----------
    backend : Backend
        Compiles the device functions.
    precision : numpy.dtype
        The working precision of the event values.
    events : tuple of Event
        The events, in the order of ``values``' outputs.
    n_states : int
        The system's number of states.
    values, evaluate : device functions
        :class:`EventFunctions`' device function and the loop's
        interpolant's ``evaluate``.

    Returns
    -------
    crossed, locate : device functions
    """
    dtype = np.dtype(precision).type
    n_events = len(events)
    stop_counts = tuple(event.terminal for event in events)
    caps = tuple(event.max_records for event in events)
    crosses = _crossing_test(backend, dtype, tuple(event.direction for event in events))
    root = _root_finder(backend, dtype, values, evaluate)

    def crossed(previous, current):
        for e in range(n_events):
            if crosses(e, previous[e], current[e]):
                return True
        return False

    def locate(t, dt, y, y_new, p, previous, current, counts, times, states, thetas, trial_values, trial_state,
               shared, persistent):
        # Every crossing is located first: which of them ends the run (the
        # earliest terminal one) decides which are recorded.
        stop = 2.0
        for e in range(n_events):
            thetas[e] = 2.0
            if crosses(e, previous[e], current[e]):
                thetas[e] = root(e, t, dt, y, y_new, p, previous[e], current[e], trial_values, trial_state,
                                 shared, persistent)
                if stop_counts[e] > 0 and counts[e] + 1 == stop_counts[e] and thetas[e] < stop:
                    stop = thetas[e]
        for e in range(n_events):
            if thetas[e] <= 1.0 and thetas[e] <= stop:
                counts[e] += 1
                if counts[e] <= caps[e]:
                    row = counts[e] - 1
                    times[e, row] = t + thetas[e] * dt
                    evaluate(thetas[e], dt, y, y_new, trial_state, shared, persistent)
                    for j in range(n_states):
                        states[e, row, j] = trial_state[j]
        if stop <= 1.0:
            evaluate(stop, dt, y, y_new, trial_state, shared, persistent)
        return stop

    return backend.device_function(crossed), backend.device_function(locate)
