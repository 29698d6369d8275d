"""PID controller: Soderlind's digital filter with a smooth limiter.

G. Soderlind, "Digital filters in adaptive time-stepping", ACM TOMS 29
(2003) 1-26, and G. Soderlind & L. Wang, "Adaptive time-stepping and
computational stability", J. Comput. Appl. Math. 185 (2006) 225-243 (the
limiter ``1 + atan(x - 1)``). With inverse errors ``e_n = 1/err_n`` the step
factor is ``e_n^(b1/k) e_{n-1}^(b2/k) e_{n-2}^(b3/k)``, ``k = order + 1``.
Defaults are the H211PI filter, ``b = (1/6, 1/6, 0) * k`` in Soderlind's
normalisation, i.e. exponents ``(1/6, 1/6, 0)``. A step is accepted when its
error is at most 1 (the same rule as the other controllers).
"""

from __future__ import annotations

import math

import attrs

from batchode.control.base import StepController
from batchode.control.integral import IntegralSettings
from batchode.factory import runtime_setting


@attrs.frozen
class PIDSettings(IntegralSettings):
    """Filter exponents applied to the last three inverse errors."""

    beta1: float = runtime_setting(default=1.0 / 6.0)
    beta2: float = runtime_setting(default=1.0 / 6.0)
    beta3: float = runtime_setting(default=0.0)


class PIDController(StepController):
    """PID controller; keeps the two previous inverse errors in ``history``."""

    Settings = PIDSettings
    history_size = 2
    constants = ("safety", "qmin", "qmax", "beta1", "beta2", "beta3")

    def control_values(self) -> dict:
        s = self.settings
        return dict(safety=s.safety, qmin=s.qmin, qmax=s.qmax, beta1=s.beta1, beta2=s.beta2, beta3=s.beta3)

    def build_control(self):
        c, dtype, at = self.constant, self.precision.type, self.runtime_offset
        beta1_at, beta2_at, beta3_at = at("beta1"), at("beta2"), at("beta3")
        qmin_at, qmax_at, safety_at = at("qmin"), at("qmax"), at("safety")
        # tiny keeps 1/err finite for an exact step; 1e-30 is a normal float32.
        one, tiny = c(1.0), c(1e-30)
        alloc_history = self.buffer_registry.buffers["history"].allocate()

        def control(dt, size, iterations, max_iterations, settings, shared, persistent):
            history = alloc_history(shared, persistent)
            # Each run-time value is read where it is used (control contract item 4).
            inverse = one / max(size, tiny)
            proposal = inverse ** dtype(settings[beta1_at])
            factor = dtype(settings[safety_at]) * proposal * history[0] ** dtype(settings[beta2_at])
            factor *= history[1] ** dtype(settings[beta3_at])
            factor = one + math.atan(factor - one)
            factor = max(dtype(settings[qmin_at]), min(dtype(settings[qmax_at]), factor))
            if size <= one:
                history[1] = history[0]
                history[0] = inverse
                return True, dt * factor
            # A rejected step must shrink whatever the history says.
            return False, dt * max(dtype(settings[qmin_at]), min(factor, dtype(settings[safety_at]) * proposal))

        def initialise(settings, shared, persistent):
            history = alloc_history(shared, persistent)
            history[0] = one
            history[1] = one

        return self.backend.device_function(control), self.backend.device_function(initialise)
