"""Gustafsson's predictive controller, as in Hairer & Wanner's RADAU5 and Julia's RadauIIA5.

K. Gustafsson, "Control-theoretic techniques for stepsize selection in
implicit Runge-Kutta methods", ACM TOMS 20 (1994) 496-517; Hairer & Wanner,
Solving ODEs II, section IV.8, eq. (8.21) and the step size selection of
their code RADAU5. With ``k = order + 1`` and the safety factor ``fac`` of
:func:`newton_safety` (the step's Newton iterations temper it, RADAU5's
``FAC = MIN(SAFE, CFAC / (NEWT + 2 NIT))``), the standard proposal is
``dt / q`` with ``q = clamp(err^(1/k) / fac, 1/qmax, 1/qmin)``.

- A rejected step is retried with ``dt / q``, or with ``dt / 10`` while no
  step has been accepted yet (RADAU5's ``H = H * 0.1`` while ``FIRST``).
- An accepted step that follows another accepted step also forms the
  predictive quotient ``(dt_acc / dt) (err^2 / err_acc)^(1/k) / safety``
  (the plain safety factor, in RADAU5 and Julia alike), clamped the same
  way, and takes the larger of the two quotients (the smaller step).
- An accepted step whose quotient lies in ``[qsteady_min, qsteady_max]``
  keeps its size (Julia's steady band; see :class:`GustafssonSettings`).

This is DifferentialEquations.jl's ``PredictiveController`` for its Radau
IIA methods (OrdinaryDiffEqCore ``stepsize_controller!``,
``step_accept_controller!`` and ``step_reject_controller!``), so runs can
be compared with Julia's. Without Newton iterations (``max_iterations`` of
0, see :mod:`batchode.control.base`) ``fac`` is the safety factor.
"""

from __future__ import annotations

import attrs

from batchode.control.base import StepController
from batchode.control.integral import IntegralSettings, step_ratio_values
from batchode.factory import runtime_setting

#: Shrink factor of a rejected step while no step has been accepted (RADAU5,
#: and Julia's ``step_reject_controller!`` with ``success_iter == 0``): the
#: first step's size is a guess, and the error of a guess says little about
#: the step the solution allows.
FIRST_REJECTION_FACTOR = 0.1

#: Smallest error kept as ``err_acc`` for the predictive quotient (RADAU5's
#: ``ERRACC = MAX(1.0D-2, ERR)``): a nearly exact step must not make the
#: next proposal explode.
ERROR_FLOOR = 1e-2


def newton_safety(backend, precision):
    """Device function ``fac = newton_safety(safety, iterations, max_iterations)``.

    ``fac = min(safety, safety (1 + 2 m) / (iterations + 2 m))`` with the
    step's Newton iteration cap ``m = max_iterations`` (Hairer & Wanner,
    Solving ODEs II, section IV.8, code RADAU5: ``FAC = MIN(SAFE, CFAC /
    (NEWT + 2 NIT))``, ``CFAC = SAFE (1 + 2 NIT)``): one iteration keeps the
    safety factor, a step that needed all ``m`` of them proposes about 2/3
    of what it would have, since the next, larger step's iteration would
    converge worse still. ``safety`` itself when ``max_iterations`` is 0 (a
    step without Newton iterations).
    """
    dtype = precision.type
    one, two = dtype(1.0), dtype(2.0)

    def fac(safety, iterations, max_iterations):
        if max_iterations <= 0:
            return safety
        cap = two * dtype(max_iterations)
        return min(safety, safety * (one + cap) / (dtype(iterations) + cap))

    return backend.device_function(fac)


@attrs.frozen
class GustafssonSettings(IntegralSettings):
    """RADAU5's step-ratio limits: shrink to at most 1/5, grow to at most 8x.

    RADAU5 bounds ``h / h_new`` by FACR = 1/8 and FACL = 5, so the new step
    lies in ``[h / 5, 8 h]``; DifferentialEquations.jl's PredictiveController
    resolves to the same qmin = 0.2, qmax = 8 for RadauIIA5
    (``julia_controllers.csv``). Julia's steady band for RadauIIA5 is
    ``[1, 1.2]`` (a step that would shrink by less than 1.2x keeps its
    size); the default here is no band, ``[1, 1]``: with radau-iia-5 on the
    40-state Brusselator (20 values of B, rtol = atol = 1e-6) the band took
    125 steps per run, 9.4 of them rejected, against 119 and 2.2 without it.
    """

    qmin: float = runtime_setting(default=0.2)
    qmax: float = runtime_setting(default=8.0)


class GustafssonController(StepController):
    """Predictive controller; keeps the last accepted step and error in ``history``."""

    Settings = GustafssonSettings
    history_size = 2
    constants = ("safety", "qmin", "qmax", "qsteady_min", "qsteady_max")

    def control_values(self) -> dict:
        return step_ratio_values(self.settings)

    def build_control(self):
        s, c, dtype, at = self.settings, self.constant, self.precision.type, self.runtime_offset
        exponent = c(1.0 / (s.order + 1))
        safety_at, inv_qmin_at, inv_qmax_at = at("safety"), at("inv_qmin"), at("inv_qmax")
        steady_low_at, steady_high_at = at("steady_low"), at("steady_high")
        zero, one, floor, first_shrink = c(0.0), c(1.0), c(ERROR_FLOOR), c(FIRST_REJECTION_FACTOR)
        alloc_history = self.buffer_registry.buffers["history"].allocate()
        fac = newton_safety(self.backend, self.precision)

        def control(dt, size, iterations, max_iterations, settings, shared, persistent):
            history = alloc_history(shared, persistent)
            # Each run-time value is read where it is used (control contract item 4).
            quotient = size ** exponent / fac(dtype(settings[safety_at]), iterations, max_iterations)
            quotient = max(dtype(settings[inv_qmax_at]), min(dtype(settings[inv_qmin_at]), quotient))
            if size > one:
                return False, (dt / quotient if history[0] > zero else dt * first_shrink)
            if history[0] > zero:
                predicted = (history[0] / dt) * (size * size / history[1]) ** exponent / dtype(settings[safety_at])
                predicted = max(dtype(settings[inv_qmax_at]), min(dtype(settings[inv_qmin_at]), predicted))
                quotient = max(quotient, predicted)
            if dtype(settings[steady_low_at]) <= quotient <= dtype(settings[steady_high_at]):
                quotient = one
            history[0] = dt
            history[1] = max(floor, size)
            return True, dt / quotient

        def initialise(settings, shared, persistent):
            history = alloc_history(shared, persistent)
            history[0] = zero
            history[1] = one

        return self.backend.device_function(control), self.backend.device_function(initialise)
