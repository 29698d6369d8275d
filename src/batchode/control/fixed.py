"""Fixed steps: every step is accepted and the step size never changes."""

from __future__ import annotations

from batchode.control.base import StepController


class FixedStepController(StepController):
    """Accepts every step and keeps ``dt``; no history, no error estimate needed."""

    is_adaptive = False

    def build_control(self):
        def control(dt, size, iterations, max_iterations, settings, shared, persistent):
            return True, dt

        def initialise(settings, shared, persistent):
            return None

        return self.backend.device_function(control), self.backend.device_function(initialise)
