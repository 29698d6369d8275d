"""Integral (I) controller: ``dt_next = dt / clamp(err^(1/(order+1)) / safety)``.

The elementary controller of Hairer, Norsett & Wanner, Solving ODEs I,
section II.4, with DifferentialEquations.jl's clamping (qmin, qmax) and
"steady" band in which an accepted step keeps its size.
"""

from __future__ import annotations

import attrs

from batchode.control.base import ControllerSettings, StepController


@attrs.frozen
class IntegralSettings(ControllerSettings):
    """Safety factor, step-ratio limits and the steady band."""

    safety: float = 0.9
    qmin: float = 0.2
    qmax: float = 10.0
    qsteady_min: float = 1.0
    qsteady_max: float = 1.0


class IntegralController(StepController):
    """I controller; stateless between steps."""

    Settings = IntegralSettings

    def build_control(self):
        s, c = self.settings, self.constant
        exponent = c(1.0 / (s.order + 1))
        safety, inv_qmin, inv_qmax = c(s.safety), c(1.0 / s.qmin), c(1.0 / s.qmax)
        steady_low, steady_high, one = c(s.qsteady_min), c(s.qsteady_max), c(1.0)

        def control(dt, size, shared, persistent):
            raw = size ** exponent / safety
            q = max(inv_qmax, min(inv_qmin, raw))
            if size <= one:
                if steady_low <= q <= steady_high:
                    q = one
                return True, dt / q
            return False, dt / min(inv_qmin, raw)

        def initialise(shared, persistent):
            return None

        return self.backend.device_function(control), self.backend.device_function(initialise)
