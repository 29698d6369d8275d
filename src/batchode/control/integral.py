"""Integral (I) controller: ``dt_next = dt / clamp(err^(1/(order+1)) / safety)``.

The elementary controller of Hairer, Norsett & Wanner, Solving ODEs I,
section II.4, with DifferentialEquations.jl's clamping (qmin, qmax) and
"steady" band in which an accepted step keeps its size.
"""

from __future__ import annotations

import attrs

from batchode.control.base import ControllerSettings, StepController
from batchode.factory import runtime_setting


@attrs.frozen
class IntegralSettings(ControllerSettings):
    """Safety factor, step-ratio limits and the steady band."""

    safety: float = runtime_setting(default=0.9)
    qmin: float = runtime_setting(default=0.2)
    qmax: float = runtime_setting(default=10.0)
    qsteady_min: float = runtime_setting(default=1.0)
    qsteady_max: float = runtime_setting(default=1.0)


def step_ratio_values(settings: IntegralSettings) -> dict:
    """Run-time values of the safety factor, the step-ratio limits (inverted) and the steady band."""
    return dict(safety=settings.safety, inv_qmin=1.0 / settings.qmin, inv_qmax=1.0 / settings.qmax,
                steady_low=settings.qsteady_min, steady_high=settings.qsteady_max)


class IntegralController(StepController):
    """I controller; stateless between steps."""

    Settings = IntegralSettings
    constants = ("safety", "qmin", "qmax", "qsteady_min", "qsteady_max")

    def control_values(self) -> dict:
        return step_ratio_values(self.settings)

    def build_control(self):
        s, c, dtype = self.settings, self.constant, self.precision.type
        exponent, one = c(1.0 / (s.order + 1)), c(1.0)
        at = self.runtime_offset
        safety_at, inv_qmin_at, inv_qmax_at = at("safety"), at("inv_qmin"), at("inv_qmax")
        steady_low_at, steady_high_at = at("steady_low"), at("steady_high")

        def control(dt, size, iterations, max_iterations, settings, shared, persistent):
            # Each run-time value is read where it is used (control contract item 4).
            raw = size ** exponent / dtype(settings[safety_at])
            if size <= one:
                q = max(dtype(settings[inv_qmax_at]), min(dtype(settings[inv_qmin_at]), raw))
                if dtype(settings[steady_low_at]) <= q <= dtype(settings[steady_high_at]):
                    q = one
                return True, dt / q
            return False, dt / min(dtype(settings[inv_qmin_at]), raw)

        def initialise(settings, shared, persistent):
            return None

        return self.backend.device_function(control), self.backend.device_function(initialise)
