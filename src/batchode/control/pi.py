"""PI controller (Gustafsson, Lundh & Soderlind 1988), in DifferentialEquations.jl's form.

With ``q11 = err^beta1`` and ``q = clamp(q11 / err_prev^beta2 / safety,
1/qmax, 1/qmin)``: an accepted step (err <= 1) gives ``dt / q`` (``dt``
itself inside the steady band) and stores ``max(err, qoldinit)`` as the
previous error; a rejected step gives ``dt / min(1/qmin, q11 / safety)``.
These are the formulas of OrdinaryDiffEq.jl's ``PIController``, so runs can
be compared with Julia's step for step.
"""

from __future__ import annotations

import attrs

from batchode.control.base import StepController
from batchode.control.integral import IntegralSettings


@attrs.frozen
class PISettings(IntegralSettings):
    """Exponents ``beta1``, ``beta2`` and the initial previous error."""

    beta1: float = 0.14
    beta2: float = 0.08
    qoldinit: float = 1e-4


class PIController(StepController):
    """PI controller; keeps the previous accepted error in ``history``."""

    Settings = PISettings
    history_size = 1

    def build_control(self):
        s, c = self.settings, self.constant
        beta1, beta2 = c(s.beta1), c(s.beta2)
        safety, inv_qmin, inv_qmax = c(s.safety), c(1.0 / s.qmin), c(1.0 / s.qmax)
        steady_low, steady_high = c(s.qsteady_min), c(s.qsteady_max)
        qoldinit, zero, one = c(s.qoldinit), c(0.0), c(1.0)
        alloc_history = self.buffer_registry.buffers["history"].allocate()

        def control(dt, size, shared, persistent):
            history = alloc_history(shared, persistent)
            q11 = zero
            if size == zero:
                q = inv_qmax
            else:
                q11 = size ** beta1
                q = max(inv_qmax, min(inv_qmin, q11 / history[0] ** beta2 / safety))
            if size <= one:
                if steady_low <= q <= steady_high:
                    q = one
                history[0] = max(size, qoldinit)
                return True, dt / q
            return False, dt / min(inv_qmin, q11 / safety)

        def initialise(shared, persistent):
            history = alloc_history(shared, persistent)
            history[0] = qoldinit

        return self.backend.device_function(control), self.backend.device_function(initialise)
