"""Explicit Runge-Kutta engine: one generic factory for every Butcher tableau.

Step contract (every algorithm family keeps it)::

    status = step(t, dt, y, p, y_new, error, fsal_valid, shared, persistent)

1. ``y`` (n states at time ``t``) and ``p`` (parameters) are read only.
2. ``y_new`` receives the solution at ``t + dt``.
3. ``error`` receives the embedded error estimate ``dt * sum(e_i k_i)``
   when the factory computes one (``compute_error``), else is untouched.
4. ``fsal_valid`` says the previous step was accepted, so for an FSAL
   tableau the cached last-stage derivative equals ``f(t, y)``.
5. ``shared``/``persistent`` are this factory's regions of the arenas.
6. The return value is a status bit mask (0: fine); explicit steps
   cannot fail on their own, so they return 0.

The step's source is generated from the tableau with its coefficients as
named constants of the working precision; zero coefficients are left out, so
the compiled step does exactly the arithmetic of a hand-written one.
"""

from __future__ import annotations

import attrs
import numpy as np

from batchode.algorithms.tableaus import ButcherTableau, get_tableau
from batchode.factory import CUDAFactory


@attrs.frozen
class ERKSettings:
    """Settings of an explicit Runge-Kutta step.

    Attributes
    ----------
    tableau : ButcherTableau
        The method (must be explicit).
    n_states : int
        System size.
    compute_error : bool
        Whether to form the embedded error estimate (False for fixed steps).
    """

    tableau: ButcherTableau = attrs.field(converter=get_tableau)
    n_states: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    compute_error: bool = True

    @tableau.validator
    def _explicit(self, attribute, value):
        if not value.is_explicit:
            raise ValueError(f"tableau {value.name!r} is not explicit; the ERK engine needs an explicit one")

    def __attrs_post_init__(self):
        if self.compute_error and not self.tableau.has_error_estimate:
            raise ValueError(
                f"method {self.tableau.name!r} has no embedded error estimate, so it cannot adapt its "
                "step; use step_controller='fixed' or a method with an embedded pair"
            )


def _combination(coefficients, stage_names, index="j") -> str:
    """Source for ``sum_r coefficients[r] * k_r[j]`` leaving out zero terms."""
    terms = [f"{coef} * {stage}[{index}]" for coef, stage in zip(coefficients, stage_names) if coef is not None]
    return " + ".join(terms) if terms else "zero"


class ERKStep(CUDAFactory):
    """Factory of an explicit Runge-Kutta step for one tableau.

    Buffers: ``stage_derivatives`` (LOCAL, stages x n), ``stage_state``
    (LOCAL, n) and, only for FSAL tableaus, ``fsal_cache`` (LOCAL_PERSISTENT,
    n), which keeps the last stage's derivative for the next step.
    """

    Settings = ERKSettings

    def __init__(self, system_factory, **kwargs):
        super().__init__(precision=system_factory.precision, backend=system_factory.backend.name, **kwargs)
        self.add_child("system", system_factory)
        self.settings_check_states(system_factory)
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        self.register_buffer("stage_derivatives", "local", lambda: self.settings.tableau.stages * n())
        self.register_buffer("stage_state", "local", n)
        self.register_buffer("fsal_cache", "local_persistent", n, enabled=lambda: self.settings.tableau.is_fsal)

    def settings_check_states(self, system_factory):
        if self.settings.n_states != system_factory.n_states:
            raise ValueError(
                f"ERK step: n_states={self.settings.n_states} but the system has {system_factory.n_states}"
            )

    @property
    def tableau(self) -> ButcherTableau:
        return self.settings.tableau

    @property
    def order(self) -> int:
        return self.tableau.order

    def generated_source(self) -> tuple[str, dict]:
        """The step's Python source and the constants it refers to."""
        tableau = self.tableau
        s, n = tableau.stages, self.settings.n_states
        dtype = self.precision.type
        constants = {"zero": dtype(0.0)}

        def constant(name, value):
            if value == 0.0:
                return None
            constants[name] = dtype(value)
            return name

        stages = [f"k_{r}" for r in range(s)]
        lines = [
            "def step(t, dt, y, p, y_new, error, fsal_valid, shared, persistent):",
            "    k = alloc_stage_derivatives(shared, persistent)",
            "    y_stage = alloc_stage_state(shared, persistent)",
        ]
        lines += [f"    k_{r} = k[{r * n}:{(r + 1) * n}]" for r in range(s)]
        if tableau.is_fsal:
            lines += [
                "    cache = alloc_fsal_cache(shared, persistent)",
                "    if fsal_valid:",
                f"        for j in range({n}):",
                "            k_0[j] = cache[j]",
                "    else:",
                "        dxdt(t, y, p, k_0)",
            ]
        else:
            lines.append("    dxdt(t, y, p, k_0)")
        for r in range(1, s):
            weights = [constant(f"a_{r}_{q}", tableau.a[r][q]) for q in range(r)]
            time = constant(f"c_{r}", tableau.c[r])
            lines += [
                f"    for j in range({n}):",
                f"        y_stage[j] = y[j] + dt * ({_combination(weights, stages[:r])})",
                f"    dxdt(t + {time} * dt, y_stage, p, k_{r})" if time else f"    dxdt(t, y_stage, p, k_{r})",
            ]
        weights = [constant(f"b_{r}", tableau.b[r]) for r in range(s)]
        lines += [f"    for j in range({n}):", f"        y_new[j] = y[j] + dt * ({_combination(weights, stages)})"]
        if self.settings.compute_error:
            errors = [constant(f"e_{r}", tableau.error_weights[r]) for r in range(s)]
            lines.append(f"        error[j] = dt * ({_combination(errors, stages)})")
        if tableau.is_fsal:
            lines += [f"    for j in range({n}):", f"        cache[j] = k_{s - 1}[j]"]
        lines.append("    return 0")
        return "\n".join(lines) + "\n", constants

    def build(self):
        source, constants = self.generated_source()
        buffers = self.buffer_registry.buffers
        namespace = dict(constants)
        namespace["dxdt"] = self.child("system").device_function
        for name in ("stage_derivatives", "stage_state", "fsal_cache"):
            namespace[f"alloc_{name}"] = buffers[name].allocate()
        # The source is generated from tableau data above, never from user text.
        exec(compile(source, f"<erk step {self.tableau.name}>", "exec"), namespace)
        return self.backend.device_function(namespace["step"], inline=False)
