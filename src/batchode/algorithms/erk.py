"""Explicit Runge-Kutta engine: one generic factory for every Butcher tableau.

Step contract (every algorithm family keeps it)::

    status = step(t, dt, y, p, y_new, error, fsal_valid, counters, shared, persistent)

1. ``y`` (n states at time ``t``) and ``p`` (parameters) are read only.
2. ``y_new`` receives the solution at ``t + dt``.
3. ``error`` receives the embedded error estimate ``dt * sum(e_i k_i)``
   when the factory computes one (``compute_error``), else is untouched.
4. ``fsal_valid`` says the previous step was accepted, so for an FSAL
   tableau the cached last-stage derivative equals ``f(t, y)``.
5. ``counters`` (int32) accumulates work: ``counters[2]`` Newton
   iterations and ``counters[3]`` linear-solver iterations (implicit
   families; explicit steps leave it alone).
6. ``shared``/``persistent`` are this factory's regions of the arenas.
7. The return value is a status bit mask (0: fine); explicit steps
   cannot fail on their own, so they return 0. A failed implicit step
   leaves ``y`` untouched and the loop retries with a smaller step.

The step's source is generated from the tableau with its coefficients as
named constants of the working precision; zero coefficients are left out, so
the compiled step does exactly the arithmetic of a hand-written one.
"""

from __future__ import annotations

import attrs

from batchode.algorithms.base import RungeKuttaSettings, RungeKuttaStep
from batchode.algorithms.source import StepSource


@attrs.frozen
class ERKSettings(RungeKuttaSettings):
    """Settings of an explicit Runge-Kutta step (see ``RungeKuttaSettings``)."""

    accepts = (staticmethod(lambda tableau: tableau.is_explicit), "explicit; the ERK engine needs an explicit one")


class ERKStep(RungeKuttaStep):
    """Factory of an explicit Runge-Kutta step for one tableau.

    Buffers: ``stage_derivatives`` (LOCAL, stages x n), ``stage_state``
    (LOCAL, n) and, only for FSAL tableaus, ``fsal_cache`` (LOCAL_PERSISTENT,
    n), which keeps the last stage's derivative for the next step.
    """

    Settings = ERKSettings

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        self.register_buffer("stage_derivatives", "local", lambda: self.settings.tableau.stages * n())
        self.register_buffer("stage_state", "local", n)
        self.register_buffer("fsal_cache", "local_persistent", n, enabled=lambda: self.settings.tableau.is_fsal)

    def _source(self) -> StepSource:
        tableau = self.tableau
        s, n = tableau.stages, self.settings.n_states
        code = StepSource(self.precision)
        stages = [f"k_{r}" for r in range(s)]
        code.add(
            "def step(t, dt, y, p, y_new, error, fsal_valid, counters, shared, persistent):",
            "    k = alloc_stage_derivatives(shared, persistent)",
            "    y_stage = alloc_stage_state(shared, persistent)",
            *[f"    k_{r} = k[{r * n}:{(r + 1) * n}]" for r in range(s)],
        )
        if tableau.is_fsal:
            code.add(
                "    cache = alloc_fsal_cache(shared, persistent)",
                "    if fsal_valid:",
                f"        for j in range({n}):",
                "            k_0[j] = cache[j]",
                "    else:",
                "        dxdt(t, y, p, k_0)",
            )
        else:
            code.add("    dxdt(t, y, p, k_0)")
        for r in range(1, s):
            weights = code.weights(f"a_{r}", tableau.a[r][:r])
            time = code.constant(f"c_{r}", tableau.c[r])
            code.add(
                f"    for j in range({n}):",
                f"        y_stage[j] = y[j] + dt * ({code.combination(weights, stages[:r])})",
                f"    dxdt(t + {time} * dt, y_stage, p, k_{r})" if time else f"    dxdt(t, y_stage, p, k_{r})",
            )
        code.add_solution_and_error(tableau, n, self.settings.compute_error)
        if tableau.is_fsal:
            code.add(f"    for j in range({n}):", f"        cache[j] = k_{s - 1}[j]")
        code.add("    return 0")
        return code

    def build(self):
        buffers = self.buffer_registry.buffers
        namespace = {"dxdt": self.child("system").device_function}
        for name in ("stage_derivatives", "stage_state", "fsal_cache"):
            namespace[f"alloc_{name}"] = buffers[name].allocate()
        step, _ = self._source().compile("step", namespace, f"erk step {self.tableau.name}")
        return self.backend.device_function(step, inline=False)
