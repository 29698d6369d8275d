"""Explicit Runge-Kutta engine: one generic factory for every Butcher tableau.

Step contract (every algorithm family keeps it)::

    status = step(t, dt, y, p, y_new, error, fsal_valid, accepted, counters, settings, shared, persistent)

1. ``y`` (n states at time ``t``) and ``p`` (parameters) are read only.
2. ``y_new`` receives the solution at ``t + dt``.
3. ``error`` receives the error estimate when the factory computes one
   (``compute_error``), else is untouched: the embedded estimate
   ``dt * sum(e_i k_i)``, or, for a tableau with a residual estimate
   (:class:`~batchode.algorithms.tableaus.butcher.ResidualEstimate`), the
   sampled residual of largest weighted RMS norm times the estimate's
   scale, so that the loop's norm of ``error`` is the residual estimate
   (for a history estimate see :mod:`batchode.algorithms.dirk`).
4. ``fsal_valid`` says the previous step was accepted, so a derivative
   the step cached at its end point (an FSAL tableau's last stage, or the
   evaluation a residual estimate makes there) equals ``f(t, y)``.
   ``accepted`` (int) is the number of steps the trajectory has accepted
   so far, 0 on its first step. Together they let a step keep a history
   of accepted solutions in persistent memory without an initialisation
   call: ``(t, y)`` is a newly accepted point when ``fsal_valid`` is set,
   and the history holds ``accepted`` points before it (a history
   estimate; the other steps ignore ``accepted``).
5. ``counters`` (int32) accumulates work: the Newton and linear-solver
   iterations (:class:`batchode.counters.Counter`; implicit
   families; explicit steps leave it alone).
6. ``settings`` is the step's block of the run-time values (its own
   numbers, then its children's blocks: Newton's, the linear solver's);
   ``shared``/``persistent`` are this factory's regions of the arenas.
7. The return value is a status bit mask (0: fine); explicit steps
   cannot fail on their own, so they return 0. A failed implicit step
   leaves ``y`` untouched and the loop retries with a smaller step.

The step's source is generated from the tableau with its coefficients as
named constants of the working precision; zero coefficients are left out, so
the compiled step does exactly the arithmetic of a hand-written one.
"""

from __future__ import annotations

import attrs

from batchode.algorithms.base import RungeKuttaSettings, RungeKuttaStep, optional_tolerances, require_tolerances
from batchode.algorithms.interpolation import (
    InterpolantBuild,
    InterpolatingStep,
    hermite_weights,
    nothing_to_prepare,
)
from batchode.algorithms.source import StepSource
from batchode.algorithms.tableaus.butcher import ResidualEstimate
from batchode.factory import runtime_setting
from batchode.control.base import tolerance_values, weighted_rms_norm


@attrs.frozen
class ERKSettings(RungeKuttaSettings):
    """Settings of an explicit Runge-Kutta step (see ``RungeKuttaSettings``).

    Attributes
    ----------
    rtol, atol : tuple of float or None
        The run's tolerances, one per state or one for all (run-time
        settings). Only a residual estimate needs them (the step keeps the
        sampled residual of largest weighted norm), and then they are
        required; other steps leave them None and read no run-time values.
    dense_output : bool
        Keep the stages of every step for the tableau's own interpolant
        (:attr:`ButcherTableau.dense_output`), which then fills the loop's
        saves; ignored for a tableau without one.
    """

    rtol: tuple | None = runtime_setting(default=None, converter=optional_tolerances)
    atol: tuple | None = runtime_setting(default=None, converter=optional_tolerances)
    dense_output: bool = False

    accepts = (staticmethod(lambda tableau: tableau.is_explicit), "explicit; the ERK engine needs an explicit one")

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        if self.residual is not None:
            require_tolerances(self, "a residual")

    @property
    def residual(self) -> ResidualEstimate | None:
        """The residual estimate the step forms: the tableau's, when an error is asked for."""
        return self.tableau.residual_estimate if self.compute_error else None


class ERKStep(RungeKuttaStep):
    """Factory of an explicit Runge-Kutta step for one tableau.

    Buffers: ``stage_derivatives`` (LOCAL, stages x n; LOCAL_PERSISTENT
    ``interpolation_stages`` instead when the step serves its tableau's
    interpolant, which reads them after the step, sized for the
    interpolant's extra stages too), ``stage_state`` (LOCAL, n);
    ``extra_stage_state`` (LOCAL, n), only for an interpolant with extra
    stages, the state at which ``prepare`` evaluates each of them;
    ``fsal_cache`` (LOCAL_PERSISTENT, n), only when the step
    ends knowing ``f(t + dt, y_new)`` (see :attr:`caches_end_derivative`),
    which keeps it for the next step; and ``residual`` (LOCAL, n), only for
    a residual estimate sampled at more than one node, which holds the
    residual at the later nodes.
    """

    Settings = ERKSettings

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        stages = lambda: self.settings.tableau.stages * n()  # noqa: E731
        kept = lambda: self.tableau.dense_output.stages * n()  # noqa: E731 - extra stages included
        self.register_buffer("stage_derivatives", "local", stages, enabled=lambda: not self.interpolates)
        self.register_buffer("interpolation_stages", "local_persistent", kept, enabled=lambda: self.interpolates)
        self.register_buffer("stage_state", "local", n)
        self.register_buffer("extra_stage_state", "local", n, enabled=lambda: self.extra_stages > 0)
        self.register_buffer("fsal_cache", "local_persistent", n, enabled=lambda: self.caches_end_derivative)
        self.register_buffer(
            "residual", "local", n,
            enabled=lambda: self.settings.residual is not None and len(self.settings.residual.nodes) > 1,
        )

    @property
    def interpolates(self) -> bool:
        """True when the step serves its tableau's own interpolant (see :mod:`batchode.algorithms.interpolation`)."""
        return self.settings.dense_output and self.tableau.dense_output is not None

    @property
    def extra_stages(self) -> int:
        """Number of extra stages ``prepare`` evaluates for the interpolant (0 when the step does not serve one)."""
        return self.tableau.dense_output.extra_stages if self.interpolates else 0

    @property
    def caches_end_derivative(self) -> bool:
        """True if the step computes ``f(t + dt, y_new)`` and keeps it as the next first stage.

        An FSAL tableau's last stage is that derivative; a residual estimate
        evaluates it anyway (the interpolant needs it), so after an accepted
        step it saves the next step an evaluation, as in OrdinaryDiffEq.jl.
        """
        return self.tableau.is_fsal or self.settings.residual is not None

    def _source(self) -> StepSource:
        tableau, residual = self.tableau, self.settings.residual
        s, n = tableau.stages, self.settings.n_states
        code = StepSource(self.precision)
        stages = [f"k_{r}" for r in range(s)]
        code.add(
            "def step(t, dt, y, p, y_new, error, fsal_valid, accepted, counters, settings, shared, persistent):",
            "    k = alloc_stages(shared, persistent)",
            "    y_stage = alloc_stage_state(shared, persistent)",
            *[f"    k_{r} = k[{r * n}:{(r + 1) * n}]" for r in range(s)],
        )
        if self.caches_end_derivative:
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
        code.add_solution_and_error(tableau, n, self.settings.compute_error and residual is None)
        if tableau.is_fsal:
            code.add(f"    for j in range({n}):", f"        cache[j] = k_{s - 1}[j]")
        elif residual is not None:
            code.add("    dxdt(t + dt, y_new, p, cache)")
        if residual is not None:
            self._add_residual_error(code, residual, n)
        code.add("    return 0")
        return code

    @staticmethod
    def _add_residual_error(code: StepSource, residual: ResidualEstimate, n: int) -> None:
        """Lines forming ``error`` from the residual estimate (Shampine 2005).

        At each node ``s``, ``f(t + s dt, u(s))`` of the Hermite interpolant
        (:func:`hermite_weights`, with ``cache`` holding ``f(t + dt, y_new)``)
        is evaluated into a vector that is then turned, in place, into the
        scaled residual ``r(s) = dt f(t + s dt, u(s)) - u'(s)``: the first
        node's vector is ``error``, each later one ``residual``, which replaces
        ``error`` when its weighted norm is larger. Scaling the kept residual
        makes the loop's (homogeneous) norm of ``error`` equal
        ``scale * max_s ||r(s)||``, Julia's ``EEst``.
        """
        ends = ["k_0", "cache"]
        last = len(residual.nodes) - 1
        for i, node in enumerate(residual.nodes):
            (v, *w), (dv, *dw) = hermite_weights(node)
            target = "error" if i == 0 else "residual"
            if i == 1:
                code.add("    residual = alloc_residual(shared, persistent)")
            code.add(
                f"    for j in range({n}):",
                f"        y_stage[j] = y[j] + {code.constant(f'v_{i}', v)} * (y_new[j] - y[j]) + dt * "
                f"({code.combination(code.weights(f'w_{i}', w), ends)})",
                f"    dxdt(t + {code.constant(f's_{i}', node)} * dt, y_stage, p, {target})",
                f"    for j in range({n}):",
                f"        {target}[j] = dt * ({target}[j] - ({code.combination(code.weights(f'dw_{i}', dw), ends)}))"
                f" - {code.constant(f'dv_{i}', dv)} * (y_new[j] - y[j])",
            )
            if i == 0 and last > 0:
                code.add("    largest = norm(error, y, y_new, settings)")
            elif i > 0:
                code.add(
                    "    size = norm(residual, y, y_new, settings)",
                    "    if size > largest:",
                    *(["        largest = size"] if i < last else []),
                    f"        for j in range({n}):",
                    "            error[j] = residual[j]",
                )
        code.add(f"    for j in range({n}):",
                 f"        error[j] = {code.constant('residual_scale', residual.scale)} * error[j]")

    def _prepare_source(self) -> StepSource:
        """Source of the contract's ``prepare``: the interpolant's extra stages.

        Extra stage ``s + r`` is ``f(t + c dt, y + dt sum_j a_j k_j)`` over
        every stage before it, written into its block of
        ``interpolation_stages`` after the method's stages; ``y``, ``y_new``
        and the method's stages are only read, so the next step is the same
        whether or not anything was saved. A stage whose row is ``b`` at
        node 1 is ``f(t + dt, y_new)`` and reads ``y_new`` itself.
        """
        tableau, dense, n = self.tableau, self.tableau.dense_output, self.settings.n_states
        s = tableau.stages
        code = StepSource(self.precision)
        code.add(
            "def prepare(t, dt, y, y_new, p, end_known, shared, persistent):",
            "    k = alloc_stages(shared, persistent)",
            "    y_stage = alloc_extra_stage_state(shared, persistent)",
            *[f"    k_{r} = k[{r * n}:{(r + 1) * n}]" for r in range(dense.stages)],
        )
        stages = [f"k_{r}" for r in range(dense.stages)]
        for r, (row, node) in enumerate(zip(dense.extra_a, dense.extra_c), start=s):
            if node == 1.0 and row == tableau.b + (0.0,) * (r - s):
                code.add(f"    dxdt(t + dt, y_new, p, k_{r})")
                continue
            weights = code.weights(f"a_{r}", row)
            time = code.constant(f"c_{r}", node)
            code.add(
                f"    for j in range({n}):",
                f"        y_stage[j] = y[j] + dt * ({code.combination(weights, stages[:r])})",
                f"    dxdt(t + {time} * dt, y_stage, p, k_{r})" if time else f"    dxdt(t, y_stage, p, k_{r})",
            )
        return code

    def _interpolant_source(self) -> StepSource:
        """Source of the contract's ``evaluate`` for the tableau's interpolant.

        ``u(t + theta dt) = y + dt sum_i b_i(theta) k_i`` with each weight
        ``b_i(theta)`` a polynomial without constant term, evaluated by
        Horner's rule; the stages are those the step left in
        ``interpolation_stages``, followed by the extra stages ``prepare``
        added (see :meth:`_prepare_source`).
        """
        dense, n = self.tableau.dense_output, self.settings.n_states
        code = StepSource(self.precision)
        code.add(
            "def evaluate(theta, dt, y, y_new, out, shared, persistent):",
            "    k = alloc_stages(shared, persistent)",
            "    s = dtype(theta)",
        )
        terms = []
        for i, row in enumerate(dense.coefficients):
            weight = code.polynomial(f"d_{i}", row)
            if weight is not None:
                code.add(f"    w_{i} = dt * s * {weight}")
                terms.append(f"w_{i} * k[{i * n} + j]")
        code.add(f"    for j in range({n}):", f"        out[j] = y[j] + {' + '.join(terms)}")
        return code

    def runtime_values(self) -> dict:
        s = self.settings
        return tolerance_values(s.rtol, s.atol, s.n_states) if s.residual is not None else {}

    def build(self):
        buffers = self.buffer_registry.buffers
        namespace = {"dxdt": self.child("system").device_function}
        for name in ("stage_state", "fsal_cache", "residual"):
            namespace[f"alloc_{name}"] = buffers[name].allocate()
        kept = "interpolation_stages" if self.interpolates else "stage_derivatives"
        namespace["alloc_stages"] = buffers[kept].allocate()
        if self.settings.residual is not None:
            namespace["norm"] = weighted_rms_norm(self.backend, self.precision, self.settings.n_states,
                                                  self.runtime_offset("rtol"), self.runtime_offset("atol"))
        step, _ = self._source().compile("step", namespace, f"erk step {self.tableau.name}")
        step = self.backend.device_function(step, inline=False)
        if not self.interpolates:
            return step
        scope = dict(alloc_stages=namespace["alloc_stages"], dtype=self.precision.type)
        evaluate, _ = self._interpolant_source().compile("evaluate", scope, f"erk interpolant {self.tableau.name}")
        prepare = nothing_to_prepare
        if self.extra_stages:
            scope = dict(alloc_stages=namespace["alloc_stages"], dxdt=namespace["dxdt"],
                         alloc_extra_stage_state=buffers["extra_stage_state"].allocate())
            prepare, _ = self._prepare_source().compile("prepare", scope, f"erk extra stages {self.tableau.name}")
        device = self.backend.device_function
        return InterpolatingStep(step, InterpolantBuild(device(prepare), device(evaluate)))
