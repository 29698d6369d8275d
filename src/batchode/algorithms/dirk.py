"""Diagonally implicit Runge-Kutta engine (DIRK, SDIRK, ESDIRK).

Keeps the step contract of :mod:`batchode.algorithms.erk`. Each implicit
stage ``k_i = f(t + c_i dt, base_i + dt a_ii k_i)``, with
``base_i = y + dt sum_{j<i} a_ij k_j``, is solved by the ``newton`` child,
which holds the linear solver as its own child; the step knows nothing of
their buffers (ARCHITECTURE.md, "Composition example"). An explicit stage
(a_ii = 0, e.g. the first of an ESDIRK) is a plain evaluation of f.

The operator ``I - dt a_ii J`` is prepared at the first implicit stage and,
when ``reuse_operator`` is set and the diagonal entry repeats (SDIRK), reused
for the later stages. Each implicit stage starts Newton from the previous
stage's derivative. The source is generated from the tableau, as for ERK.
"""

from __future__ import annotations

import attrs

from batchode.algorithms.base import RungeKuttaSettings, RungeKuttaStep
from batchode.algorithms.source import StepSource


@attrs.frozen
class DIRKSettings(RungeKuttaSettings):
    """DIRK settings; ``reuse_operator`` shares one factorisation across stages."""

    reuse_operator: bool = True

    accepts = (staticmethod(lambda tableau: tableau.is_diagonally_implicit), "diagonally implicit")


class DIRKStep(RungeKuttaStep):
    """Factory of a DIRK step; children ``system`` and ``newton``.

    Buffers (LOCAL): ``stage_derivatives`` (stages x n), ``stage_base`` (n).
    """

    Settings = DIRKSettings

    def __init__(self, system_factory, newton, **kwargs):
        super().__init__(system_factory, **kwargs)
        self.add_child("newton", newton)
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        self.register_buffer("stage_derivatives", "local", lambda: self.settings.tableau.stages * n())
        self.register_buffer("stage_base", "local", n)

    def _source(self) -> StepSource:
        tableau = self.tableau
        s, n = tableau.stages, self.settings.n_states
        code = StepSource(self.precision)
        stages = [f"k_{r}" for r in range(s)]
        code.add(
            "def step(t, dt, y, p, y_new, error, fsal_valid, counters, shared, persistent):",
            "    k = alloc_stage_derivatives(shared, persistent)",
            "    base = alloc_stage_base(shared, persistent)",
            "    newton_shared, newton_persistent = newton_view(shared, persistent)",
            *[f"    k_{r} = k[{r * n}:{(r + 1) * n}]" for r in range(s)],
        )
        prepared_diagonal = None
        for r in range(s):
            weights = code.weights(f"a_{r}", tableau.a[r][:r])
            time = code.constant(f"c_{r}", tableau.c[r])
            stage_time = f"t + {time} * dt" if time else "t"
            code.add(f"    for j in range({n}):",
                     f"        base[j] = y[j] + dt * ({code.combination(weights, stages[:r])})")
            diagonal = tableau.a[r][r]
            if diagonal == 0.0:
                code.add(f"    dxdt({stage_time}, base, p, k_{r})")
                continue
            if r == 0:
                code.add("    dxdt(t, y, p, k_0)")  # initial guess: f(t, y)
            else:
                code.add(f"    for j in range({n}):", f"        k_{r}[j] = k_{r - 1}[j]")
            prepare = not (self.settings.reuse_operator and diagonal == prepared_diagonal)
            prepared_diagonal = diagonal if prepare else prepared_diagonal
            name = code.constant(f"d_{r}", diagonal)
            code.add(
                f"    status, iterations, linear_iterations = newton({stage_time}, base, dt * {name}, p, k_{r}, "
                f"{prepare}, newton_shared, newton_persistent)",
                "    counters[2] += iterations",
                "    counters[3] += linear_iterations",
                "    if status != 0:",
                "        return status",
            )
        code.add_solution_and_error(tableau, n, self.settings.compute_error)
        code.add("    return 0")
        return code

    def build(self):
        registry = self.buffer_registry
        buffers = registry.buffers
        namespace = {
            "dxdt": self.child("system").device_function,
            "newton": self.child("newton").device_function,
            "newton_view": registry.child_view("newton"),
            "alloc_stage_derivatives": buffers["stage_derivatives"].allocate(),
            "alloc_stage_base": buffers["stage_base"].allocate(),
        }
        step, _ = self._source().compile("step", namespace, f"dirk step {self.tableau.name}")
        return self.backend.device_function(step, inline=False)
