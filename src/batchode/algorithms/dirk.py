"""Diagonally implicit Runge-Kutta engine (DIRK, SDIRK, ESDIRK).

Keeps the step contract of :mod:`batchode.algorithms.erk`. Each implicit
stage ``k_i = f(t + c_i dt, base_i + dt a_ii k_i)``, with
``base_i = y + dt sum_{j<i} a_ij k_j``, is solved by the ``newton`` child,
which holds the linear solver as its own child; the step knows nothing of
their buffers (ARCHITECTURE.md, "Composition example"). An explicit stage
(a_ii = 0, e.g. the first of an ESDIRK) is a plain evaluation of f.

Newton's stopping test bounds the error it leaves in each stage state
``base_i + dt a_ii k_i``; the solution ``y + dt sum_i b_i k_i`` takes
``b_i / a_ii`` times that error from stage ``i``. So Newton stops each
stage at its tolerance divided by :func:`newton_solution_gain`, and
``newton_tolerance`` bounds Newton's share of the step's error whatever the
tableau (as in the FIRK engine, where the stage error is the solution's).
Without it, kvaerno5 (gain 4.1) on Van der Pol at mu = 1000 left a global
error several times rtol that tighter Newton tolerances removed
(tests/implicit/test_esdirk_stiff_accuracy.py).

The operator ``I - dt a_ii J`` is prepared at the first implicit stage and,
when ``reuse_operator`` is set and the diagonal entry repeats (SDIRK), reused
for the later stages. Each implicit stage starts Newton from the previous
stage's derivative. The source is generated from the tableau, as for ERK.

Error estimate: ``dt * sum(e_i k_i)`` for an embedded pair, or, for a
tableau with a :class:`~batchode.algorithms.tableaus.butcher.HistoryEstimate`
of order ``q`` (backward Euler and the trapezoidal rule, as
OrdinaryDiffEq.jl's ``ImplicitEuler`` and ``Trapezoid`` estimate theirs):

1. The LOCAL_PERSISTENT ``solution_history`` keeps the ``q`` latest
   accepted points, times then states, newest (the step's own ``(t, y)``)
   first. On entry, when ``fsal_valid`` says the previous step was
   accepted, the points move back one place; then ``(t, y)`` is written to
   the first. So the history moves on only after accepted steps, a
   rejected step is retried with the same history, and no initialisation
   call is needed: the loop's ``accepted`` count says how many points are
   valid (the step contract, :mod:`batchode.algorithms.erk`).
2. With ``q`` points (``accepted >= q - 1``), ``error`` is
   ``scale * dt**q`` times the ``q``-th divided difference of those points
   and ``(t + dt, y_new)`` (Newton's table, on times measured from ``t``).
3. Before that, ``error`` is :data:`START_UP_ERROR` times the error
   weights ``atol + max(|y|, |y_new|) rtol``, so the loop's norm is just
   below 1: the step is accepted and the controller gets Julia's
   ``EEst = 1``. This is why such a step needs ``rtol`` and ``atol``.
"""

from __future__ import annotations

import attrs

from batchode.algorithms.base import RungeKuttaSettings, RungeKuttaStep, optional_tolerances, require_tolerances
from batchode.algorithms.source import LINEAR_COUNTER, NEWTON_COUNTER, StepSource
from batchode.algorithms.tableaus.butcher import HistoryEstimate
from batchode.control.base import tolerance_values
from batchode.factory import runtime_setting

#: Error size (in the loop's weighted norm) a history estimate reports while
#: its history is too short. Julia uses exactly 1; a hair below keeps rounding
#: in the norm (which recomputes the weights, perhaps with fused
#: multiply-adds on a GPU) from pushing it above 1 and rejecting the step. The
#: PI controller's step change is then the same to about 1e-4.
START_UP_ERROR = 1.0 - 2.0**-10


def newton_solution_gain(tableau) -> float:
    """``sum_i |b_i| / a_ii`` over the implicit stages: how much the solution amplifies Newton's stage errors.

    Newton measures its error in the stage state ``dt a_ii k_i``; an error
    ``d`` there is an error ``d / (dt a_ii)`` in ``k_i`` and ``b_i / a_ii d``
    in ``y_new = y + dt sum_i b_i k_i``. The sum bounds the solution's error
    when every stage leaves ``d`` (the triangle inequality; the stages'
    errors also pass into later stages' bases, which for stiff components
    the later solves damp). It is 1 for backward Euler and the trapezoidal
    rule, about 4.1 for kvaerno5, 7.3 for kvaerno3 and 69 for Hairer and
    Wanner's SDIRK4, whose weights cancel heavily.
    """
    return sum(abs(b) / row[i] for i, (b, row) in enumerate(zip(tableau.b, tableau.a)) if row[i] != 0.0)


@attrs.frozen
class DIRKSettings(RungeKuttaSettings):
    """DIRK settings.

    Attributes
    ----------
    reuse_operator : bool
        Share one factorisation across stages with the same diagonal entry.
    rtol, atol : tuple of float or None
        The run's tolerances; only a history estimate needs them (for its
        start-up error, see the module docstring), and then they are
        required; other steps leave them None, so their compiled code is
        shared across tolerances.
    """

    reuse_operator: bool = True
    rtol: tuple | None = runtime_setting(default=None, converter=optional_tolerances)
    atol: tuple | None = runtime_setting(default=None, converter=optional_tolerances)

    accepts = (staticmethod(lambda tableau: tableau.is_diagonally_implicit), "diagonally implicit")

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        if self.history is not None:
            require_tolerances(self, "its history")

    @property
    def history(self) -> HistoryEstimate | None:
        """The history estimate the step forms: the tableau's, when an error is asked for."""
        return self.tableau.history_estimate if self.compute_error else None


class DIRKStep(RungeKuttaStep):
    """Factory of a DIRK step; children ``system`` and ``newton``.

    Buffers: ``stage_derivatives`` (LOCAL, stages x n), ``stage_base``
    (LOCAL, n) and, only for a history estimate of order ``q``,
    ``solution_history`` (LOCAL_PERSISTENT, ``q (n + 1)``).
    """

    Settings = DIRKSettings

    def __init__(self, system_factory, newton, **kwargs):
        super().__init__(system_factory, **kwargs)
        self.add_child("newton", newton)
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        self.register_buffer("stage_derivatives", "local", lambda: self.settings.tableau.stages * n())
        self.register_buffer("stage_base", "local", n)
        self.register_buffer(
            "solution_history", "local_persistent", lambda: self.settings.history.order * (n() + 1),
            enabled=lambda: self.settings.history is not None,
        )

    def runtime_values(self) -> dict:
        s = self.settings
        return tolerance_values(s.rtol, s.atol, s.n_states) if s.history is not None else {}

    def _source(self) -> StepSource:
        tableau, history = self.tableau, self.settings.history
        s, n = tableau.stages, self.settings.n_states
        code = StepSource(self.precision)
        stages = [f"k_{r}" for r in range(s)]
        code.add(
            "def step(t, dt, y, p, y_new, error, fsal_valid, accepted, counters, settings, shared, persistent):",
            "    k = alloc_stage_derivatives(shared, persistent)",
            "    base = alloc_stage_base(shared, persistent)",
            "    newton_shared, newton_persistent = newton_view(shared, persistent)",
            "    newton_settings = newton_block(settings)",
            # Newton's prepare flag as a value, not a literal: numba compiles
            # a function once per literal argument, and two copies of Newton
            # cost 0.46 s of a kvaerno5 build at 100 states.
            "    fresh_operator, reused_operator = bool(1), bool(0)",
            *[f"    k_{r} = k[{r * n}:{(r + 1) * n}]" for r in range(s)],
        )
        if history is not None:
            self._add_history_update(code, history.order, n)
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
                f"{'fresh_operator' if prepare else 'reused_operator'}, newton_settings, newton_shared, "
                "newton_persistent)",
                f"    {NEWTON_COUNTER} += iterations",
                f"    {LINEAR_COUNTER} += linear_iterations",
                "    if status != 0:",
                "        return status",
            )
        code.add_solution_and_error(tableau, n, self.settings.compute_error and history is None)
        if history is not None:
            self._add_history_error(code, history, n)
        code.add("    return 0")
        return code

    @staticmethod
    def _add_history_update(code: StepSource, q: int, n: int) -> None:
        """Lines moving the history on after an accepted step and storing ``(t, y)`` first.

        Slot ``i`` (0 newest) has its time at ``history[i]`` and its state at
        ``history[q + i n : q + (i + 1) n]``.
        """
        code.add("    history = alloc_solution_history(shared, persistent)")
        if q > 1:
            code.add("    if fsal_valid:")
            for i in range(q - 1, 0, -1):
                code.add(f"        history[{i}] = history[{i - 1}]",
                         f"        for j in range({n}):",
                         f"            history[{q + i * n} + j] = history[{q + (i - 1) * n} + j]")
        code.add("    history[0] = t",
                 f"    for j in range({n}):",
                 f"        history[{q} + j] = y[j]")

    @staticmethod
    def _add_history_error(code: StepSource, history: HistoryEstimate, n: int) -> None:
        """Lines forming ``error`` from the history estimate (see the module docstring).

        The points are ``x_0 = dt`` (the new one), ``x_1 = 0`` (``t``) and
        ``x_m = history[m - 1] - t`` for ``m >= 2``, times measured from ``t``
        so that their differences keep the working precision. Newton's table
        ``table_m <- (table_m - table_{m+1}) / (x_m - x_{m+level})`` leaves
        the ``q``-th divided difference in ``table_0``. (Not ``d_m``: those
        are the tableau's diagonal constants.)
        """
        q = history.order
        scale = code.constant("history_scale", history.scale)
        start_up = code.constant("start_up_error", START_UP_ERROR)
        one = code.constant("one", 1.0)
        code.add(f"    if accepted >= {q - 1}:",
                 "        x_0 = dt",
                 "        x_1 = zero",
                 *[f"        x_{m} = history[{m - 1}] - t" for m in range(2, q + 1)])
        pairs = [(m, m + level) for level in range(1, q + 1) for m in range(q + 1 - level)]
        code.add(*[f"        inverse_{a}_{b} = {one} / (x_{a} - x_{b})" for a, b in pairs],
                 f"        weight = {scale}{' * dt' * q}",
                 f"        for j in range({n}):",
                 "            table_0 = y_new[j]",
                 "            table_1 = y[j]",
                 *[f"            table_{m} = history[{q + (m - 1) * n} + j]" for m in range(2, q + 1)],
                 *[f"            table_{a} = (table_{a} - table_{a + 1}) * inverse_{a}_{b}" for a, b in pairs],
                 "            error[j] = weight * table_0",
                 "    else:",
                 f"        for j in range({n}):",
                 f"            rtol, atol = dtype(settings[rtol_at + j]), dtype(settings[atol_at + j])",
                 f"            error[j] = {start_up} * (atol + max(abs(y[j]), abs(y_new[j])) * rtol)")

    def build(self):
        registry = self.buffer_registry
        buffers = registry.buffers
        namespace = {
            "dxdt": self.child("system").device_function,
            "newton": self.child("newton").device_function,
            "newton_view": registry.child_view("newton"),
            "newton_block": self.runtime_view("newton"),
            "alloc_stage_derivatives": buffers["stage_derivatives"].allocate(),
            "alloc_stage_base": buffers["stage_base"].allocate(),
            "alloc_solution_history": buffers["solution_history"].allocate(),
        }
        if self.settings.history is not None:
            namespace.update(dtype=self.precision.type, rtol_at=self.runtime_offset("rtol"),
                             atol_at=self.runtime_offset("atol"))
        step, _ = self._source().compile("step", namespace, f"dirk step {self.tableau.name}")
        return self.backend.device_function(step, inline=False)
