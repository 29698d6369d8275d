"""Fully implicit Runge-Kutta engine (Radau IIA, Gauss-Legendre, any FIRK tableau).

Keeps the step contract of :mod:`batchode.algorithms.erk`. All ``s`` stages
are one coupled system for the stage increments ``z_i = Y_i - y``::

    z_i = dt sum_j a_ij f(t + c_j dt, y + z_j),        i = 1..s,

of size ``s n``, solved by the simplified Newton iteration of Hairer &
Wanner, Solving ODEs II, section IV.8 (as in RADAU5): the Jacobian
``J = df/dy(t, y)`` is evaluated once per step and the matrix
``I - dt (A kron J)`` is factorised once by the ``stage_lu`` child (a dense
LU of size ``s n``), then

    (I - dt (A kron J)) dZ = dt (A kron I) F(Z) - Z,    Z += dZ,

from a predicted ``Z``. No transformation to a real and a complex block
(RADAU5's eigenvalue decomposition of ``A``) is done: the dense solve of
size ``s n`` is the straightforward form for the small systems this
library targets.

1. Starting guess (RADAU5's default): after an accepted step, the
   polynomial of degree s through ``(0, 0)`` and ``(c_i, z_i)`` of that step
   (the collocation polynomial, for Radau and Gauss methods) is extrapolated
   to the new stage times, ``z_i = q(1 + c_i dt / dt_old) - q(1)``; at the
   start and after a rejection ``Z = 0``. The previous step's increments and
   size are kept in the LOCAL_PERSISTENT ``previous_increments`` and
   ``step_history``. Tableaus whose nodes are not distinct and nonzero
   always start from 0.
2. Convergence (RADAU5's test): with the contraction estimate
   ``theta = ||dZ_k|| / ||dZ_{k-1}||`` and ``eta = theta / (1 - theta)``,
   the iteration stops when ``eta ||dZ_k|| <= tolerance``. The norm is the
   weighted RMS over all ``s n`` components with weights ``atol + |y| rtol``
   (the step's start state, as in RADAU5), and ``tolerance`` is
   ``newton_tolerance`` with the floor of :func:`convergence_tolerance`.
   The first iteration uses the last accepted step's ``eta`` to the power
   0.8 (kept in ``step_history``), or 1 after a rejection or at the
   start, so a step whose first update is tiny can stop after one
   iteration.
3. ``theta >= 0.99`` (divergence), a non-finite update, or
   ``newton_max_iterations`` iterations without convergence return
   ``Status.NEWTON_FAILED``; a singular matrix returns the LU's
   ``Status.LINEAR_SOLVER_FAILED``. ``y`` is untouched and the loop
   retries a smaller step.
4. ``y_new = y + sum_i d_i z_i`` with ``d = b^T A^-1`` (``d = e_s`` for a
   stiffly accurate tableau), which needs no further evaluation of f.
5. Error estimate (``compute_error``): for a tableau with a
   :class:`~batchode.algorithms.tableaus.radau.FilteredErrorEstimate`
   (``radau_iia_5``), RADAU5's filtered estimate (HW II, IV.8, eqs.
   (8.19)-(8.20))::

       error = (I - dt gamma0 J)^-1 gamma0 (dt f(t, y) + sum_i e_i z_i),

   with ``I - dt gamma0 J`` factorised by the ``error_lu`` child (size n).
   The filter keeps the estimate of stiff components bounded. A tableau
   with embedded weights ``b_hat`` gets ``error = sum_i w_i z_i`` with
   ``w = (b - b_hat)^T A^-1``. RADAU5's refinement of the estimate on the
   first step and after a rejection (a second filtered solve with
   ``f(t, y + error)``) is not done.

Work counters: every iteration adds one to ``counters[2]`` (Newton) and
one to ``counters[3]`` (a direct solve); the error filter adds one solve.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from batchode.algorithms.base import RungeKuttaSettings, RungeKuttaStep
from batchode.algorithms.source import StepSource
from batchode.algorithms.tableaus import filtered_error_estimate
from batchode.control.base import tolerance_tuple
from batchode.solvers.linear import DenseMatrixLU
from batchode.solvers.newton import convergence_tolerance, weight_constants
from batchode.status import Status

#: A stage matrix whose condition number exceeds this is treated as singular:
#: ``d = b^T A^-1`` and the estimate's weights need ``A^-1``.
MAX_STAGE_MATRIX_CONDITION = 1e12

#: Contraction rate at which the simplified Newton iteration is declared
#: divergent (RADAU5 rejects the step when theta >= 0.99).
DIVERGENCE_RATE = 0.99

#: RADAU5's carry-over of the contraction estimate from the last step:
#: ``eta_0 = max(eta_old, eps) ** 0.8``.
RATE_MEMORY_EXPONENT = 0.8


def _invertible_firk(tableau) -> bool:
    if getattr(tableau, "family", None) != "firk":
        return False
    return bool(np.linalg.cond(np.array(tableau.a)) < MAX_STAGE_MATRIX_CONDITION)


@attrs.frozen
class FIRKSettings(RungeKuttaSettings):
    """Settings of a fully implicit Runge-Kutta step (see ``RungeKuttaSettings``).

    Attributes
    ----------
    rtol, atol : tuple of float
        The step's tolerances, which weight the convergence test.
    newton_tolerance : float
        Converged when ``eta`` times the weighted RMS of the update is below it.
    newton_max_iterations : int
        Simplified Newton iterations allowed per step.
    """

    rtol: tuple = attrs.field(default=(1e-6,), converter=tolerance_tuple)
    atol: tuple = attrs.field(default=(1e-6,), converter=tolerance_tuple)
    newton_tolerance: float = attrs.field(default=1e-2, validator=attrs.validators.gt(0))
    newton_max_iterations: int = attrs.field(default=10, validator=attrs.validators.ge(1))

    accepts = (staticmethod(_invertible_firk), "fully implicit with an invertible stage matrix")

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if len(value) not in (1, self.n_states):
                raise ValueError(f"{name} has {len(value)} entries; expected 1 or n_states={self.n_states}")


class FIRKStep(RungeKuttaStep):
    """Factory of a fully implicit Runge-Kutta step; children ``system``,
    ``stage_lu`` (:class:`DenseMatrixLU` of size ``s n``) and ``error_lu``
    (size n for a filtered error estimate, else 0: no buffers).

    Buffers (LOCAL unless noted): ``stage_increments``,
    ``stage_derivatives`` and ``newton_update`` (s n each), ``stage_state``
    (n), ``jacobian`` (n n), ``jacobian_work`` (2n, finite-difference
    Jacobians); LOCAL_PERSISTENT: ``step_history`` (2: the last ``eta`` and
    step size) and ``previous_increments`` (s n, only when the predictor
    applies).
    """

    Settings = FIRKSettings

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        options = dict(precision=self.precision, backend=self.backend.name)
        for name, size in self._lu_sizes().items():
            self.add_child(name, DenseMatrixLU(size=size, **options))
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        stages = lambda: self.settings.tableau.stages * n()  # noqa: E731
        for name in ("stage_increments", "stage_derivatives", "newton_update"):
            self.register_buffer(name, "local", stages)
        self.register_buffer("stage_state", "local", n)
        self.register_buffer("jacobian", "local", lambda: n() * n())
        self.register_buffer("jacobian_work", "local", lambda: 2 * n())
        self.register_buffer("step_history", "local_persistent", 2)
        self.register_buffer("previous_increments", "local_persistent", stages, enabled=lambda: self.predicts)

    @property
    def predicts(self) -> bool:
        """Whether steps start from the extrapolated previous stages (distinct, nonzero nodes)."""
        nodes = (0.0, *self.tableau.c)
        return len(set(nodes)) == len(nodes)

    @property
    def error_estimate(self):
        """The tableau's filtered error estimate, or None."""
        return filtered_error_estimate(self.tableau)

    def _lu_sizes(self) -> dict[str, int]:
        s = self.settings
        filtered = s.compute_error and self.error_estimate is not None
        return {"stage_lu": s.tableau.stages * s.n_states, "error_lu": s.n_states if filtered else 0}

    def update(self, **changes) -> set[str]:
        """As :meth:`CUDAFactory.update`; the LU children follow the tableau and ``compute_error``."""
        changed = super().update(**changes)
        for name, size in self._lu_sizes().items():
            changed |= {f"{name}_{key}" for key in self.child(name).update(size=size)}
        return changed

    def _source(self) -> StepSource:
        tableau, settings = self.tableau, self.settings
        s, n = tableau.stages, settings.n_states
        m = s * n
        a = np.array(tableau.a)
        code = StepSource(self.precision)
        increments = [f"z_{r}" for r in range(s)]
        derivatives = [f"f_{r}" for r in range(s)]
        code.add(
            "def step(t, dt, y, p, y_new, error, fsal_valid, accepted, counters, shared, persistent):",
            "    z = alloc_stage_increments(shared, persistent)",
            "    f = alloc_stage_derivatives(shared, persistent)",
            "    delta = alloc_newton_update(shared, persistent)",
            "    state = alloc_stage_state(shared, persistent)",
            "    jac = alloc_jacobian(shared, persistent)",
            "    work = alloc_jacobian_work(shared, persistent)",
            "    history = alloc_step_history(shared, persistent)",
            "    old = alloc_previous_increments(shared, persistent)",
            "    lu_shared, lu_persistent = stage_lu_view(shared, persistent)",
            *[f"    z_{r} = z[{r * n}:{(r + 1) * n}]" for r in range(s)],
            *[f"    f_{r} = f[{r * n}:{(r + 1) * n}]" for r in range(s)],
            *[f"    delta_{r} = delta[{r * n}:{(r + 1) * n}]" for r in range(s)],
            "    jacobian(t, y, p, jac, work)",
            # I - dt (A kron J), block (i, j) = delta_ij I - dt a_ij J, row-major.
            "    matrix = stage_matrix(lu_shared, lu_persistent)",
            f"    for row in range({n}):",
            f"        for col in range({n}):",
            f"            entry = -dt * jac[row * {n} + col]",
        )
        for i in range(s):
            for j in range(s):
                name = code.constant(f"a_{i}_{j}", a[i, j])
                value = f"{name} * entry" if name else "zero"
                code.add(f"            matrix[({i * n} + row) * {m} + {j * n} + col] = {value}")
        code.add(*[f"        matrix[({i * n} + row) * {m} + {i * n} + row] += one" for i in range(s)],
                 "    status = stage_prepare(lu_shared, lu_persistent)",
                 "    if status != 0:",
                 "        return status",
                 f"    for j in range({m}):",
                 "        z[j] = zero",
                 "    eta = one",
                 "    if fsal_valid:",
                 "        eta = max(history[0], eps) ** memory")
        if self.predicts:
            self._add_prediction(code)
        code.add("    previous = zero",
                 "    converged = False",
                 "    for iteration in range(max_iterations):")
        for r in range(s):
            time = code.constant(f"c_{r}", tableau.c[r])
            code.add(f"        for j in range({n}):",
                     f"            state[j] = y[j] + z_{r}[j]",
                     f"        dxdt(t + {time} * dt, state, p, f_{r})" if time else f"        dxdt(t, state, p, f_{r})")
        code.add(f"        for j in range({n}):")
        for r in range(s):
            weights = [code.constant(f"a_{r}_{j}", a[r, j]) for j in range(s)]
            code.add(f"            delta_{r}[j] = dt * ({code.combination(weights, derivatives)}) - z_{r}[j]")
        code.add("        stage_solve(delta, delta, p, lu_shared, lu_persistent)",
                 "        counters[2] += 1",
                 "        counters[3] += 1",
                 "        size = zero",
                 f"        for j in range({n}):",
                 "            weight = atol[j] + abs(y[j]) * rtol[j]",
                 *[f"            size += (delta_{r}[j] / weight) ** 2" for r in range(s)],
                 "        size = math.sqrt(size / count)",
                 "        if not math.isfinite(size):",
                 "            return newton_failed",
                 "        if iteration > 0:",
                 "            theta = size / previous",
                 "            if theta >= divergence:",
                 "                return newton_failed",
                 "            eta = theta / (one - theta)",
                 f"        for j in range({m}):",
                 "            z[j] += delta[j]",
                 "        if eta * size <= tolerance:",
                 "            converged = True",
                 "            break",
                 "        previous = size",
                 "    if not converged:",
                 "        return newton_failed",
                 "    history[0] = eta",
                 "    history[1] = dt")
        if self.predicts:
            code.add(f"    for j in range({m}):", "        old[j] = z[j]")
        solution = code.weights("d", self._solution_weights())
        code.add(f"    for j in range({n}):",
                 f"        y_new[j] = y[j] + {code.combination(solution, increments)}")
        if settings.compute_error:
            self._add_error(code, increments)
        code.add("    return 0")
        return code

    def _add_prediction(self, code: StepSource) -> None:
        """Lines setting ``z_i = q(1 + c_i r) - q(1)``, ``r = dt / dt_old``, after an accepted step.

        ``q(x) = sum_k L_k(x) z_k^old`` with the Lagrange basis of the nodes
        ``0, c_1, ..., c_s`` (the node 0 carries ``z = 0``).
        """
        c = self.tableau.c
        s, n = self.tableau.stages, self.settings.n_states
        nodes = (0.0, *c)
        code.add("        ratio = dt / history[1]")
        for i in range(s):
            code.add(f"        x = one + {code.constant(f'c_{i}', c[i])} * ratio")
            for k in range(s):
                others = [m for m in range(s + 1) if m != k + 1]
                scale = code.constant(f"lagrange_{k}", 1.0 / np.prod([c[k] - nodes[m] for m in others]))
                at_one = code.constant(f"lagrange_{k}_at_1", np.prod([1.0 - nodes[m] for m in others])
                                       / np.prod([c[k] - nodes[m] for m in others]))
                factors = " * ".join(["x" if nodes[m] == 0.0 else f"(x - {code.constant(f'node_{m}', nodes[m])})"
                                      for m in others])
                shift = f" - {at_one}" if at_one else ""
                code.add(f"        p_{k} = {scale} * {factors}{shift}")
            code.add(f"        for j in range({n}):",
                     f"            z[{i * n} + j] = {' + '.join(f'p_{k} * old[{k * n} + j]' for k in range(s))}")

    def _solution_weights(self) -> tuple[float, ...]:
        """``d = b^T A^-1``: ``y_new = y + sum_i d_i z_i``."""
        tableau = self.tableau
        if tableau.is_stiffly_accurate:
            return tuple(float(i == tableau.stages - 1) for i in range(tableau.stages))
        return tuple(np.linalg.solve(np.array(tableau.a).T, np.array(tableau.b)))

    def _add_error(self, code: StepSource, increments: list[str]) -> None:
        tableau, n = self.tableau, self.settings.n_states
        estimate = self.error_estimate
        if estimate is None:  # embedded weights: dt (b - b_hat) . F = (b - b_hat)^T A^-1 Z
            weights = np.linalg.solve(np.array(tableau.a).T, np.array(tableau.error_weights))
            errors = code.weights("w", weights)
            code.add(f"    for j in range({n}):",
                     f"        error[j] = {code.combination(errors, increments)}")
            return
        errors = code.weights("ge", [estimate.gamma0 * e for e in estimate.e])
        gamma0 = code.constant("gamma0", estimate.gamma0)
        code.add(
            "    dxdt(t, y, p, state)",
            f"    for j in range({n}):",
            f"        error[j] = {gamma0} * dt * state[j] + {code.combination(errors, increments)}",
            "    filter_shared, filter_persistent = error_lu_view(shared, persistent)",
            "    matrix = error_matrix(filter_shared, filter_persistent)",
            f"    scale = {gamma0} * dt",
            f"    for row in range({n}):",
            f"        for col in range({n}):",
            f"            matrix[row * {n} + col] = -scale * jac[row * {n} + col]",
            f"        matrix[row * {n} + row] += one",
            "    status = error_prepare(filter_shared, filter_persistent)",
            "    if status != 0:",
            "        return status",
            "    error_solve(error, error, p, filter_shared, filter_persistent)",
            "    counters[3] += 1",
        )

    def build(self):
        settings = self.settings
        n = settings.n_states
        dtype = self.precision.type
        registry = self.buffer_registry
        system = self.child("system")
        stage_lu = self.child("stage_lu").built
        rtol, atol = weight_constants(settings.rtol, settings.atol, n, self.precision)
        namespace = {
            "math": math,
            "dxdt": system.device_function,
            "jacobian": system.jacobian_function,
            "stage_lu_view": registry.child_view("stage_lu"),
            "stage_matrix": stage_lu.matrix_view,
            "stage_prepare": stage_lu.prepare,
            "stage_solve": stage_lu.solve,
            "rtol": rtol,
            "atol": atol,
            "one": dtype(1.0),
            "count": dtype(settings.tableau.stages * n),
            "eps": dtype(np.finfo(self.precision).eps),
            "memory": dtype(RATE_MEMORY_EXPONENT),
            "divergence": dtype(DIVERGENCE_RATE),
            "tolerance": dtype(convergence_tolerance(settings.newton_tolerance, settings.rtol, self.precision)),
            "max_iterations": settings.newton_max_iterations,
            "newton_failed": int(Status.NEWTON_FAILED),
        }
        if self.child("error_lu").settings.size:
            error_lu = self.child("error_lu").built
            namespace.update(error_lu_view=registry.child_view("error_lu"), error_matrix=error_lu.matrix_view,
                             error_prepare=error_lu.prepare, error_solve=error_lu.solve)
        for name, buffer in registry.buffers.items():
            namespace[f"alloc_{name}"] = buffer.allocate()
        step, _ = self._source().compile("step", namespace, f"firk step {self.tableau.name}")
        return self.backend.device_function(step, inline=False)
