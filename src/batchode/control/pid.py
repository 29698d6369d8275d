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


@attrs.frozen
class PIDSettings(IntegralSettings):
    """Filter exponents applied to the last three inverse errors."""

    beta1: float = 1.0 / 6.0
    beta2: float = 1.0 / 6.0
    beta3: float = 0.0


class PIDController(StepController):
    """PID controller; keeps the two previous inverse errors in ``history``."""

    Settings = PIDSettings
    history_size = 2

    def build_control(self):
        s, c = self.settings, self.constant
        beta1, beta2, beta3 = c(s.beta1), c(s.beta2), c(s.beta3)
        qmin, qmax = c(s.qmin), c(s.qmax)
        # tiny keeps 1/err finite for an exact step; 1e-30 is a normal float32.
        safety, one, tiny = c(s.safety), c(1.0), c(1e-30)
        alloc_history = self.buffer_registry.buffers["history"].allocate()

        def control(dt, size, shared, persistent):
            history = alloc_history(shared, persistent)
            inverse = one / max(size, tiny)
            factor = safety * inverse ** beta1 * history[0] ** beta2 * history[1] ** beta3
            factor = one + math.atan(factor - one)
            factor = max(qmin, min(qmax, factor))
            if size <= one:
                history[1] = history[0]
                history[0] = inverse
                return True, dt * factor
            # A rejected step must shrink whatever the history says.
            return False, dt * max(qmin, min(factor, safety * inverse ** beta1))

        def initialise(shared, persistent):
            history = alloc_history(shared, persistent)
            history[0] = one
            history[1] = one

        return self.backend.device_function(control), self.backend.device_function(initialise)
