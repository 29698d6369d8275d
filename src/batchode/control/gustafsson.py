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
from batchode.factory import runtime_setting


@attrs.frozen
class GustafssonSettings(IntegralSettings):
    """RADAU5's step-ratio limits: shrink to at most 1/5, grow to at most 8x.

    RADAU5 bounds ``h / h_new`` by FACR = 1/8 and FACL = 5, so the new step
    lies in ``[h / 5, 8 h]``; DifferentialEquations.jl's PredictiveController
    resolves to the same qmin = 0.2, qmax = 8 for RadauIIA5
    (``julia_controllers.csv``).
    """

    qmin: float = runtime_setting(default=0.2)
    qmax: float = runtime_setting(default=8.0)


class GustafssonController(StepController):
    """Predictive controller; keeps the last accepted step and error in ``history``."""

    Settings = GustafssonSettings
    history_size = 2
    constants = ("safety", "qmin", "qmax")

    def control_values(self) -> dict:
        s = self.settings
        return dict(safety=s.safety, inv_qmin=1.0 / s.qmin, inv_qmax=1.0 / s.qmax)

    def build_control(self):
        s, c, dtype, at = self.settings, self.constant, self.precision.type, self.runtime_offset
        exponent = c(1.0 / (s.order + 1))
        safety_at, inv_qmin_at, inv_qmax_at = at("safety"), at("inv_qmin"), at("inv_qmax")
        zero, one, floor = c(0.0), c(1.0), c(1e-2)
        alloc_history = self.buffer_registry.buffers["history"].allocate()

        def control(dt, size, iterations, max_iterations, settings, shared, persistent):
            history = alloc_history(shared, persistent)
            safety, inv_qmin = dtype(settings[safety_at]), dtype(settings[inv_qmin_at])
            inv_qmax = dtype(settings[inv_qmax_at])
            quotient = max(inv_qmax, min(inv_qmin, size ** exponent / safety))
            if size > one:
                return False, dt / quotient
            if history[0] > zero:
                predicted = (history[0] / dt) * (size * size / history[1]) ** exponent / safety
                quotient = max(quotient, max(inv_qmax, min(inv_qmin, predicted)))
            history[0] = dt
            history[1] = max(floor, size)
            return True, dt / quotient

        def initialise(settings, shared, persistent):
            history = alloc_history(shared, persistent)
            history[0] = zero
            history[1] = one

        return self.backend.device_function(control), self.backend.device_function(initialise)
