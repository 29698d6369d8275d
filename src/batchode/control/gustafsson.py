"""Gustafsson's predictive controller, as in Hairer & Wanner's RADAU5.

K. Gustafsson, "Control-theoretic techniques for stepsize selection in
implicit Runge-Kutta methods", ACM TOMS 20 (1994) 496-517; Hairer & Wanner,
Solving ODEs II, section IV.8, eq. (8.21). After an accepted step that
follows another accepted step, the standard proposal is compared with
``(dt_acc / dt) * (err^2 / err_acc)^(1/k) / safety`` and the smaller step is
taken (``k = order + 1``). Without Newton iteration counts (explicit methods)
the safety factor is fixed.
"""

from __future__ import annotations

import attrs

from batchode.control.base import StepController
from batchode.control.integral import IntegralSettings


@attrs.frozen
class GustafssonSettings(IntegralSettings):
    """RADAU5's step-ratio limits: shrink to at most 1/5, grow to at most 8x.

    RADAU5 bounds ``h / h_new`` by FACR = 1/8 and FACL = 5, so the new step
    lies in ``[h / 5, 8 h]``; DifferentialEquations.jl's PredictiveController
    resolves to the same qmin = 0.2, qmax = 8 for RadauIIA5
    (``julia_controllers.csv``).
    """

    qmin: float = 0.2
    qmax: float = 8.0


class GustafssonController(StepController):
    """Predictive controller; keeps the last accepted step and error in ``history``."""

    Settings = GustafssonSettings
    history_size = 2

    def build_control(self):
        s, c = self.settings, self.constant
        exponent = c(1.0 / (s.order + 1))
        safety, inv_qmin, inv_qmax = c(s.safety), c(1.0 / s.qmin), c(1.0 / s.qmax)
        zero, one, floor = c(0.0), c(1.0), c(1e-2)
        alloc_history = self.buffer_registry.buffers["history"].allocate()

        def control(dt, size, shared, persistent):
            history = alloc_history(shared, persistent)
            quotient = max(inv_qmax, min(inv_qmin, size ** exponent / safety))
            if size > one:
                return False, dt / quotient
            if history[0] > zero:
                predicted = (history[0] / dt) * (size * size / history[1]) ** exponent / safety
                quotient = max(quotient, max(inv_qmax, min(inv_qmin, predicted)))
            history[0] = dt
            history[1] = max(floor, size)
            return True, dt / quotient

        def initialise(shared, persistent):
            history = alloc_history(shared, persistent)
            history[0] = zero
            history[1] = one

        return self.backend.device_function(control), self.backend.device_function(initialise)
