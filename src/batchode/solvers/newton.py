"""Newton's method for one implicit stage, with a linear solver as its child.

Newton contract::

    status, iterations, linear_iterations = newton(
        t, base, alpha, p, k, prepare_operator, settings, shared, persistent)

1. Solves ``k = f(t, base + alpha * k)`` for the stage derivative ``k``
   (``k`` holds the initial guess on entry and the solution on exit).
2. With ``prepare_operator`` the linear solver's operator
   ``I - alpha J(t, base + alpha k)`` is (re)built first; otherwise the one
   from an earlier call is reused (simplified Newton across stages of an
   SDIRK, as OrdinaryDiffEq.jl reuses W).
3. Stops when the error left in the stage state is estimated to be at
   most ``max(tolerance / solution_gain, 10 eps / min(rtol))`` in the
   weighted RMS norm ``atol + |z| rtol`` (the step's error weights). The
   estimate is Hairer & Wanner's (Solving ODEs II, IV.8, eqs. (8.10)-(8.11),
   as RADAU5 and the FIRK engine use it): with the update
   ``u_k = ||alpha delta_k||`` and the contraction rate
   ``theta_k = u_k / u_{k-1}``, the error left after iteration ``k`` is
   about ``theta_k / (1 - theta_k) u_k``; the first iteration, whose rate is
   unknown, stops on ``u_1`` alone. ``solution_gain`` is how much the step's
   solution amplifies the stage's error (set by the step, see
   :func:`batchode.algorithms.dirk.newton_solution_gain`), so that
   ``tolerance`` bounds Newton's share of the step's error. The floor is
   RADAU5's: a tolerance below the working precision's resolution could
   never be met, which matters in float32. A full Newton step that
   increases the residual is halved up to ``max_backtracks`` times
   (damping).
4. Returns ``Status.NEWTON_FAILED`` after ``max_iterations``, on a
   non-finite update or on divergence (``theta_k > 2``), the linear
   solver's status if it fails, else 0.
5. ``settings`` is Newton's block of the run-time values (its tolerances,
   iteration cap and backtracks, then the linear solver's block).
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from batchode.control.base import tolerance_tuple
from batchode.control.base import tolerance_values
from batchode.factory import CUDAFactory, runtime_setting
from batchode.status import Status


#: What :meth:`Newton._iteration_pieces`' ``verdict`` says of an iteration.
CONTINUE, CONVERGED, DIVERGED = 0, 1, 2


def convergence_tolerance(tolerance: float, rtol, precision) -> float:
    """The tolerance a Newton-like iteration can meet: ``max(tolerance, 10 eps / min(rtol))``.

    RADAU5's floor (Hairer & Wanner II, IV.8): an update norm weighted by
    ``atol + |y| rtol`` cannot fall below about ``eps / rtol``.
    """
    eps = np.finfo(precision).eps
    return max(tolerance, 10.0 * eps / max(min(rtol), eps))


@attrs.frozen
class NewtonSettings:
    """Tolerance, iteration cap and damping of Newton's method.

    All are run-time settings.

    Attributes
    ----------
    rtol, atol : tuple of float
        The step's tolerances, which weight the convergence test.
    tolerance : float
        Converged when the estimated error left in the stage state, times
        ``solution_gain``, is below it in the weighted RMS norm.
    solution_gain : float
        Bound on how much the step's solution amplifies a stage's Newton
        error (1: not at all); the step that owns Newton sets it.
    max_iterations : int
    max_backtracks : int
        Halvings of a Newton step allowed when the residual grows (0: none).
    """

    rtol: tuple = runtime_setting(default=(1e-6,), converter=tolerance_tuple)
    atol: tuple = runtime_setting(default=(1e-6,), converter=tolerance_tuple)
    tolerance: float = runtime_setting(default=1e-2, validator=attrs.validators.gt(0))
    solution_gain: float = runtime_setting(default=1.0, validator=attrs.validators.gt(0))
    max_iterations: int = runtime_setting(default=10, validator=attrs.validators.ge(1))
    max_backtracks: int = runtime_setting(default=3, validator=attrs.validators.ge(0))


class Newton(CUDAFactory):
    """Newton(-Krylov) factory; child ``linear`` is the linear solver.

    Buffers (LOCAL, n each): ``stage`` (the stage state), ``residual``,
    ``delta``, ``trial`` and ``trial_residual``.
    """

    Settings = NewtonSettings

    def __init__(self, system_factory, linear_solver, **kwargs):
        super().__init__(precision=system_factory.precision, backend=system_factory.backend.name, **kwargs)
        self.system_factory = system_factory
        self.add_child("linear", linear_solver)
        for name in ("stage", "residual", "delta", "trial", "trial_residual"):
            self.register_buffer(name, "local", system_factory.n_states)

    def hash_extras(self) -> tuple:
        return (self.system_factory.config_hash,)

    def runtime_values(self) -> dict:
        s = self.settings
        return dict(tolerance_values(s.rtol, s.atol, self.system_factory.n_states),
                    tolerance=convergence_tolerance(s.tolerance / s.solution_gain, s.rtol, self.precision),
                    max_iterations=s.max_iterations, max_backtracks=s.max_backtracks)

    def build(self):
        n = self.system_factory.n_states
        dtype = self.precision.type
        at = self.runtime_offset
        tolerance_at = at("tolerance")
        max_iterations_at, max_backtracks_at = at("max_iterations"), at("max_backtracks")
        newton_failed = int(Status.NEWTON_FAILED)
        linear = self.child("linear").built
        prepare, solve = linear.prepare, linear.solve
        registry = self.buffer_registry
        alloc = {name: buffer.allocate() for name, buffer in registry.buffers.items()}
        alloc_stage, alloc_residual, alloc_delta = alloc["stage"], alloc["residual"], alloc["delta"]
        alloc_trial, alloc_trial_residual = alloc["trial"], alloc["trial_residual"]
        linear_view = registry.child_view("linear")
        linear_settings = self.runtime_view("linear")
        residual_of, backtrack, take_update, verdict = self._iteration_pieces()

        def newton(t, base, alpha, p, k, prepare_operator, settings, shared, persistent):
            tolerance = dtype(settings[tolerance_at])
            max_iterations, max_backtracks = int(settings[max_iterations_at]), int(settings[max_backtracks_at])
            linear_block = linear_settings(settings)
            stage = alloc_stage(shared, persistent)
            residual = alloc_residual(shared, persistent)
            delta = alloc_delta(shared, persistent)
            trial = alloc_trial(shared, persistent)
            trial_residual = alloc_trial_residual(shared, persistent)
            linear_shared, linear_persistent = linear_view(shared, persistent)
            linear_iterations = 0
            if prepare_operator:
                for j in range(n):
                    stage[j] = base[j] + alpha * k[j]
                status = prepare(t, stage, p, alpha, linear_block, linear_shared, linear_persistent)
                if status != 0:
                    return status, 0, 0
            size = residual_of(t, base, alpha, p, k, stage, residual)
            previous_update = dtype(0.0)
            for iteration in range(max_iterations):
                status, used = solve(residual, delta, p, linear_block, linear_shared, linear_persistent)
                linear_iterations += used
                if status != 0:
                    return status, iteration + 1, linear_iterations
                scale, size = backtrack(t, base, alpha, p, k, delta, size, max_backtracks, stage, trial,
                                        trial_residual)
                update = take_update(alpha, scale, delta, stage, trial, trial_residual, k, residual, settings)
                outcome = verdict(iteration, update, previous_update, tolerance)
                if outcome == CONVERGED:
                    return 0, iteration + 1, linear_iterations
                if outcome == DIVERGED:
                    return newton_failed, iteration + 1, linear_iterations
                previous_update = update
            return newton_failed, max_iterations, linear_iterations

        return self.backend.device_function(newton, inline=False)

    def _iteration_pieces(self):
        """The device functions of one Newton iteration: ``(residual_of, backtrack, take_update, verdict)``.

        - ``size = residual_of(t, base, alpha, p, k, stage, out)``: ``out = f(t,
          base + alpha k) - k`` (``stage`` receives the stage state); returns
          its 2-norm squared.
        - ``scale, trial_size = backtrack(t, base, alpha, p, k, delta, size,
          max_backtracks, stage, trial, trial_residual)``: the trial ``k + scale
          delta``, halving ``scale`` while the residual grows (damping), at
          most ``max_backtracks`` times; the trial's residual is left in
          ``trial_residual``.
        - ``update = take_update(alpha, scale, delta, stage, trial,
          trial_residual, k, residual, settings)``: moves the trial into ``k``
          and ``residual`` and returns the stage-state update ``alpha scale
          delta`` in the weighted RMS norm.
        - ``verdict(iteration, update, previous_update, tolerance)``:
          :data:`CONTINUE`, :data:`CONVERGED` or :data:`DIVERGED`.
        """
        n = self.system_factory.n_states
        dtype = self.precision.type
        rtol_at, atol_at = self.runtime_offset("rtol"), self.runtime_offset("atol")
        zero, half, one, two, count = dtype(0.0), dtype(0.5), dtype(1.0), dtype(2.0), dtype(n)
        dxdt = self.system_factory.device_function
        device = self.backend.device_function

        def residual_of(t, base, alpha, p, k, stage, out):
            for j in range(n):
                stage[j] = base[j] + alpha * k[j]
            dxdt(t, stage, p, out)
            total = zero
            for j in range(n):
                out[j] -= k[j]
                total += out[j] * out[j]
            return total

        residual_of = device(residual_of)

        def backtrack(t, base, alpha, p, k, delta, size, max_backtracks, stage, trial, trial_residual):
            scale = one
            for attempt in range(max_backtracks + 1):
                for j in range(n):
                    trial[j] = k[j] + scale * delta[j]
                trial_size = residual_of(t, base, alpha, p, trial, stage, trial_residual)
                if trial_size <= size or attempt == max_backtracks:
                    break
                scale *= half
            return scale, trial_size

        def take_update(alpha, scale, delta, stage, trial, trial_residual, k, residual, settings):
            update = zero
            for j in range(n):
                weight = dtype(settings[atol_at + j]) + abs(stage[j]) * dtype(settings[rtol_at + j])
                ratio = alpha * scale * delta[j] / weight
                update += ratio * ratio
                k[j] = trial[j]
                residual[j] = trial_residual[j]
            return math.sqrt(update / count)

        def verdict(iteration, update, previous_update, tolerance):
            if not math.isfinite(update):
                return DIVERGED
            if iteration == 0:
                return CONVERGED if update <= tolerance else CONTINUE
            # The error left is about rate / (1 - rate) times the update
            # (HW II, IV.8): stopping on the update alone lets a slowly
            # contracting iteration leave many times the tolerance in every
            # stage, and stage after stage, step after step, that error adds
            # up in the solution.
            rate = update / previous_update
            if rate < one and rate * update <= (one - rate) * tolerance:
                return CONVERGED
            # Diverging: the update grew after the first iteration.
            return DIVERGED if rate > two else CONTINUE

        return residual_of, device(backtrack), device(take_update), device(verdict)
