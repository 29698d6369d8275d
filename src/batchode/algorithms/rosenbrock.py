"""Rosenbrock(-W) engine: linearly implicit, one factorisation per step.

Keeps the step contract of :mod:`batchode.algorithms.erk`. Uses the
transformed form of Hairer & Wanner, Solving ODEs II, section IV.7, eqs.
(7.25)-(7.26) (see :mod:`batchode.algorithms.tableaus.rosenbrock`): with
``M = I - dt gamma J(t, y)``, prepared once by the ``linear`` child,

    M u_i = dt gamma (f(t + c_i dt, y + sum_{j<i} A_ij u_j)
                      + sum_{j<i} (C_ij / dt) u_j + d_i dt f_t(t, y)),
    y_new = y + sum_i m_i u_i,    error = sum_i (m_i - m_hat_i) u_i.

No Newton iteration: each stage is one linear solve. A method used with an
approximate Jacobian (a W-method, e.g. with GMRES stopped early or a
finite-difference Jacobian) keeps its order only if its tableau satisfies
the W conditions.
"""

from __future__ import annotations

import attrs

from batchode.algorithms.base import RungeKuttaSettings, RungeKuttaStep
from batchode.algorithms.interpolation import InterpolantBuild, InterpolatingStep, nothing_to_prepare
from batchode.algorithms.source import LINEAR_COUNTER, StepSource


@attrs.frozen
class RosenbrockSettings(RungeKuttaSettings):
    """Settings of a Rosenbrock step (see ``RungeKuttaSettings``).

    Attributes
    ----------
    dense_output : bool
        Keep the stage increments of every step for the tableau's own
        interpolant (:attr:`RosenbrockTableau.dense_output`), which then
        fills the loop's saves; ignored for a tableau without one.
    """

    dense_output: bool = False

    accepts = (staticmethod(lambda tableau: tableau.family == "rosenbrock"), "a Rosenbrock method")


class RosenbrockStep(RungeKuttaStep):
    """Factory of a Rosenbrock step; children ``system`` and ``linear``.

    Buffers (LOCAL): ``stage_increments`` (stages x n; LOCAL_PERSISTENT
    ``interpolation_increments`` instead when the step serves its tableau's
    interpolant, which reads them after the step), ``stage_state``,
    ``stage_rhs``, ``time_derivative`` (n each) and ``derivative_work`` (2n,
    scratch of finite-difference derivatives).
    """

    Settings = RosenbrockSettings

    def __init__(self, system_factory, linear_solver, **kwargs):
        super().__init__(system_factory, **kwargs)
        self.add_child("linear", linear_solver)
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        increments = lambda: self.settings.tableau.stages * n()  # noqa: E731
        self.register_buffer("stage_increments", "local", increments, enabled=lambda: not self.interpolates)
        self.register_buffer("interpolation_increments", "local_persistent", increments,
                             enabled=lambda: self.interpolates)
        for name in ("stage_state", "stage_rhs", "time_derivative"):
            self.register_buffer(name, "local", n)
        self.register_buffer("derivative_work", "local", lambda: 2 * n())

    @property
    def interpolates(self) -> bool:
        """True when the step serves its tableau's own interpolant (see :mod:`batchode.algorithms.interpolation`)."""
        return self.settings.dense_output and self.tableau.dense_output is not None

    def _source(self) -> StepSource:
        tableau = self.tableau
        s, n = tableau.stages, self.settings.n_states
        code = StepSource(self.precision)
        increments = [f"u_{r}" for r in range(s)]
        gamma = code.constant("gamma", tableau.gamma_diag)
        code.add(
            "def step(t, dt, y, p, y_new, error, fsal_valid, accepted, counters, settings, shared, persistent):",
            "    u = alloc_increments(shared, persistent)",
            "    state = alloc_stage_state(shared, persistent)",
            "    rhs = alloc_stage_rhs(shared, persistent)",
            "    f_t = alloc_time_derivative(shared, persistent)",
            "    work = alloc_derivative_work(shared, persistent)",
            "    linear_shared, linear_persistent = linear_view(shared, persistent)",
            "    linear_settings = linear_block(settings)",
            *[f"    u_{r} = u[{r * n}:{(r + 1) * n}]" for r in range(s)],
            f"    scale = dt * {gamma}",
            "    status = prepare(t, y, p, scale, linear_settings, linear_shared, linear_persistent)",
            "    if status != 0:",
            "        return status",
            "    time_derivative(t, y, p, f_t, work)",
        )
        for r in range(s):
            stage_weights = code.weights(f"A_{r}", tableau.A[r][:r])
            coupling = code.weights(f"C_{r}", tableau.C[r][:r])
            time = code.constant(f"c_{r}", tableau.c[r])
            slope = code.constant(f"d_{r}", tableau.d[r])
            stage_time = f"t + {time} * dt" if time else "t"
            code.add(f"    for j in range({n}):",
                     f"        state[j] = y[j] + {code.combination(stage_weights, increments[:r])}",
                     f"    dxdt({stage_time}, state, p, rhs)",
                     f"    for j in range({n}):")
            extra = []
            if any(w is not None for w in coupling):
                extra.append(f"({code.combination(coupling, increments[:r])}) / dt")
            if slope:
                extra.append(f"{slope} * dt * f_t[j]")
            total = " + ".join(["rhs[j]"] + extra)
            code.add(f"        rhs[j] = scale * ({total})",
                     f"    status, iterations = solve(rhs, u_{r}, p, linear_settings, linear_shared, linear_persistent)",
                     f"    {LINEAR_COUNTER} += iterations",
                     "    if status != 0:",
                     "        return status")
        solution = code.weights("m", tableau.m)
        code.add(f"    for j in range({n}):",
                 f"        y_new[j] = y[j] + {code.combination(solution, increments)}")
        if self.settings.compute_error:
            errors = code.weights("e", tableau.m_error)
            code.add(f"        error[j] = {code.combination(errors, increments)}")
        code.add("    return 0")
        return code

    def build(self):
        registry = self.buffer_registry
        buffers = registry.buffers
        system = self.child("system")
        linear = self.child("linear").built
        namespace = {
            "dxdt": system.device_function,
            "time_derivative": system.time_derivative_function,
            "prepare": linear.prepare,
            "solve": self._called(linear.solve),
            "linear_view": registry.child_view("linear"),
            "linear_block": self.runtime_view("linear"),
        }
        for name in buffers:
            namespace[f"alloc_{name}"] = buffers[name].allocate()
        kept = "interpolation_increments" if self.interpolates else "stage_increments"
        namespace["alloc_increments"] = buffers[kept].allocate()
        step, _ = self._source().compile("step", namespace, f"rosenbrock step {self.tableau.name}")
        step = self.backend.device_function(step, inline=False)
        if not self.interpolates:
            return step
        scope = dict(alloc_increments=namespace["alloc_increments"], dtype=self.precision.type)
        evaluate, _ = self._interpolant_source().compile("evaluate", scope,
                                                         f"rosenbrock interpolant {self.tableau.name}")
        device = self.backend.device_function
        return InterpolatingStep(step, InterpolantBuild(device(nothing_to_prepare), device(evaluate)))

    def _called(self, solve):
        """``solve`` behind a call that numba does not inline into the step.

        The step solves once per stage, and inlined at numba-IR level each
        of those calls copies and retypes the whole substitution (and with
        a dense LU its pivoting): measured on Lorenz, rodas5p, 2 cores, the
        cold build took 17.1 s CPU with every stage's solve inlined.
        """

        def solve_called(rhs, x, p, settings, shared, persistent):
            return solve(rhs, x, p, settings, shared, persistent)

        return self.backend.device_function(solve_called, inline=False)

    def _interpolant_source(self) -> StepSource:
        """Source of the contract's ``evaluate`` for the tableau's RODAS-type interpolant.

        ``u(theta) = (1 - theta) y + theta (y_new + (1 - theta) sum_j theta^j
        sum_i H_ji u_i)`` with the increments ``u_i`` the step left in
        ``interpolation_increments``; each increment's weight is a
        polynomial in theta, evaluated by Horner's rule.
        """
        dense, n = self.tableau.dense_output, self.settings.n_states
        code = StepSource(self.precision)
        code.add(
            "def evaluate(theta, dt, y, y_new, out, shared, persistent):",
            "    u = alloc_increments(shared, persistent)",
            "    s = dtype(theta)",
            "    rest = dtype(1.0) - s",
            "    bend = s * rest",
        )
        terms = []
        for i, column in enumerate(zip(*dense.coefficients)):
            weight = code.polynomial(f"h_{i}", column)
            if weight is not None:
                code.add(f"    w_{i} = bend * {weight}")
                terms.append(f"w_{i} * u[{i * n} + j]")
        code.add(f"    for j in range({n}):",
                 f"        out[j] = rest * y[j] + s * y_new[j] + {' + '.join(terms)}")
        return code
