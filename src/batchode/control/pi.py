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
from batchode.control.integral import IntegralSettings, step_ratio_values
from batchode.factory import runtime_setting


@attrs.frozen
class PISettings(IntegralSettings):
    """Exponents ``beta1``, ``beta2`` and the initial previous error."""

    beta1: float = runtime_setting(default=0.14)
    beta2: float = runtime_setting(default=0.08)
    qoldinit: float = runtime_setting(default=1e-4)


class PIController(StepController):
    """PI controller; keeps the previous accepted error in ``history``."""

    Settings = PISettings
    history_size = 1
    constants = ("safety", "qmin", "qmax", "qsteady_min", "qsteady_max", "beta1", "beta2", "qoldinit")

    def control_values(self) -> dict:
        s = self.settings
        return dict(step_ratio_values(s), beta1=s.beta1, beta2=s.beta2, qoldinit=s.qoldinit)

    def build_control(self):
        c, dtype, at = self.constant, self.precision.type, self.runtime_offset
        beta1_at, beta2_at, qoldinit_at = at("beta1"), at("beta2"), at("qoldinit")
        safety_at, inv_qmin_at, inv_qmax_at = at("safety"), at("inv_qmin"), at("inv_qmax")
        steady_low_at, steady_high_at = at("steady_low"), at("steady_high")
        zero, one = c(0.0), c(1.0)
        alloc_history = self.buffer_registry.buffers["history"].allocate()

        def control(dt, size, iterations, max_iterations, settings, shared, persistent):
            history = alloc_history(shared, persistent)
            # Each run-time value is read where it is used (control contract item 4).
            q11 = zero
            if size == zero:
                q = dtype(settings[inv_qmax_at])
            else:
                q11 = size ** dtype(settings[beta1_at])
                q = q11 / history[0] ** dtype(settings[beta2_at]) / dtype(settings[safety_at])
                q = max(dtype(settings[inv_qmax_at]), min(dtype(settings[inv_qmin_at]), q))
            if size <= one:
                if dtype(settings[steady_low_at]) <= q <= dtype(settings[steady_high_at]):
                    q = one
                history[0] = max(size, dtype(settings[qoldinit_at]))
                return True, dt / q
            return False, dt / min(dtype(settings[inv_qmin_at]), q11 / dtype(settings[safety_at]))

        def initialise(settings, shared, persistent):
            history = alloc_history(shared, persistent)
            history[0] = dtype(settings[qoldinit_at])

        return self.backend.device_function(control), self.backend.device_function(initialise)
